//! Integration tests against a real server on a real database file, each test with its
//! own database and port. `helpers` spawns the server; the other modules are the stories.

mod accounts;
mod authz;
mod bad_input;
mod by_hand;
mod callups;
mod cards;
mod chain;
mod chase;
mod cli;
mod cluster;
mod crash;
mod drill;
mod helpers;
mod import;
mod live;
mod messages;
mod notify;
mod outage;
mod pages;
mod privacy;
mod recording;
mod report;
mod restart;
mod results;
mod scan;
mod setup;
mod tls;
mod tubes;
mod walkthrough;
