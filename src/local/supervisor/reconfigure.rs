//! New settings on a running stack ([`LocalSettings`]), applied without restarting a
//! replica: the scaler takes the new bounds and rules (its alarms start a fresh evaluation,
//! as a modified CloudWatch alarm does), the replica count moves into the new bounds at once
//! (or to a changed `scaling.desired`), and the health check, warmup and deregistration
//! delay hold from the next replica they concern.

use tokio::time::Instant;

use super::Supervisor;
use crate::local::scaler::Scaler;
use crate::local::settings::LocalSettings;

impl Supervisor {
    /// Applies `settings`, saying what changed.
    pub(super) fn reconfigure(&mut self, settings: LocalSettings) {
        let changes = self.settings.changes(&settings);
        if changes.is_empty() {
            return;
        }
        self.event(format!("settings changed: {}", changes.join(", ")));
        let (before, after) = (&self.settings.scaling, &settings.scaling);
        if before != after {
            self.scaler = Scaler::new(after);
            let desired = if before.desired == after.desired { self.desired } else { after.desired() };
            let desired = desired.clamp(after.min, after.max);
            if desired != self.desired {
                self.event(format!("scaled to the new bounds: {} → {desired} replicas", self.desired));
                self.desired = desired;
            }
        }
        let sooner = Instant::now() + settings.health_check.interval.duration();
        self.next_health_check = self.next_health_check.min(sooner);
        self.settings = settings;
    }
}
