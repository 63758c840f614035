//! What a fleet run reports while it works: typed events a CLI renders (a progress bar, log
//! lines) and any other tool can consume.

use crate::journal::{ErrorInfo, State, Target};
use std::sync::Arc;
use std::time::Duration;

/// Progress of discovery in one tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiscoveryProgress {
    /// Users listed so far.
    pub users: usize,
    /// Distinct chats found so far.
    pub chats: usize,
    /// Teams listed so far.
    pub teams: usize,
    /// Scopes (chats, teams, users) whose installed apps were read so far.
    pub scopes_read: usize,
    /// Scopes known so far that will be read.
    pub scopes_total: usize,
    /// Installations of the app found so far.
    pub installations: usize,
    /// Scopes that could not be read (after the client's retries), so far.
    pub unreadable: usize,
    /// Time since discovery of this tenant started.
    pub elapsed: Duration,
}

/// Why a run stopped before every target was tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// The caller asked it to stop (Ctrl-C).
    Interrupted,
    /// A canary target failed.
    CanaryFailed,
    /// One more failure could exceed `max_failures`.
    MaxFailures,
    /// One more failure could take the error rate above `max_error_rate`.
    MaxErrorRate,
}

impl StopReason {
    /// A sentence for people.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Interrupted => "interrupted",
            Self::CanaryFailed => "the canary failed",
            Self::MaxFailures => "the failure limit was reached",
            Self::MaxErrorRate => "the error-rate limit was reached",
        }
    }
}

/// One thing that happened in a fleet run.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// Discovery in a tenant made progress (sent at most a few times a second, and once at the
    /// end with `done`).
    Discovery {
        /// The tenant.
        tenant: String,
        /// Counts so far.
        progress: DiscoveryProgress,
        /// Whether discovery of this tenant is complete.
        done: bool,
    },
    /// A scope could not be read during discovery even after the client's retries; its
    /// installations are missing from the plan.
    ScopeUnreadable {
        /// The tenant.
        tenant: String,
        /// The chat, team or user.
        scope: String,
        /// What Graph or the network said.
        error: String,
    },
    /// The plan of a tenant is ready.
    Planned {
        /// The tenant.
        tenant: String,
        /// The app's display name.
        app: String,
        /// The version targets move to.
        to: String,
        /// Targets behind the catalog.
        behind: usize,
        /// Targets already current.
        current: usize,
        /// Targets named in a targets file that no longer exist.
        gone: usize,
    },
    /// The upgrade phase starts.
    Started {
        /// Targets to work on.
        targets: usize,
        /// Of which a resumed run reads back first.
        resumed: usize,
    },
    /// A target reached a state that ends it for this run.
    Finished {
        /// The target.
        target: Target,
        /// `verified`, `skipped` or `failed`.
        state: State,
        /// Why, for `skipped` and `failed`.
        detail: Option<String>,
        /// Graph's answer for a failure it answered.
        error: Option<ErrorInfo>,
    },
    /// Every canary target was upgraded and verified; the rest follows.
    CanaryPassed {
        /// How many canary targets.
        targets: usize,
    },
    /// A tenant's client met throttling: cumulative counts since the upgrade phase started
    /// (sent at most once a second, when they change).
    Throttling {
        /// The tenant.
        tenant: String,
        /// `429` answers so far.
        throttled: u64,
        /// Time spent waiting so far.
        waited: Duration,
    },
    /// The run stops starting targets.
    Stopping {
        /// Why.
        reason: StopReason,
    },
}

/// Where events go: any function of an event (cheap: called on the run's tasks).
pub type EventSink = Arc<dyn Fn(&Event) + Send + Sync>;

/// A sink that drops every event.
pub fn ignore() -> EventSink {
    Arc::new(|_| {})
}
