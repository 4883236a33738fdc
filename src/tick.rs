//! The server's own timers: one loop that looks at something every so often until the
//! server stops. Nothing else: what a look does is its caller's.

use std::future::Future;
use tokio::sync::watch;

/// Runs `look` every `period` until `stop` flips: the first at once, and a look that takes
/// longer than the period delays the next one rather than bunching them up. The one loop
/// of the server's own timers (revocations, channels, escalations, summaries).
pub async fn every<F, Fut>(period: std::time::Duration, mut stop: watch::Receiver<bool>, mut look: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        look().await;
    }
}
