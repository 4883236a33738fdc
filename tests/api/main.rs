//! Integration tests against a real server on a real database file, each test with its
//! own database and port. `helpers` spawns the server; the other modules are the stories.

mod bad_input;
mod cluster;
mod crash;
mod helpers;
mod live;
mod recording;
mod import;
mod restart;
