//! The plan: every target found, what will happen to it, and the run's journal header.

use crate::catalog::CatalogApp;
use crate::journal::{RunHeader, Target};

/// What a planned target will get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Behind the catalog: will be upgraded.
    Upgrade,
    /// Already at the catalog's latest version.
    Current,
    /// Named in a targets file but no longer there (or no longer of this app).
    Gone,
}

impl Action {
    /// `upgrade`, `current` or `gone`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Upgrade => "upgrade",
            Self::Current => "current",
            Self::Gone => "gone",
        }
    }
}

/// One target of the plan.
#[derive(Debug, Clone)]
pub struct PlannedTarget {
    /// Which installation.
    pub target: Target,
    /// Its version when discovered.
    pub from: Option<String>,
    /// The version it moves to (its tenant's latest).
    pub to: String,
    /// What happens to it.
    pub action: Action,
    /// The resource-specific permissions the upgrade consents to (`type:name`).
    pub consent: Vec<String>,
}

/// A scope discovery could not read, even after retries.
#[derive(Debug, Clone)]
pub struct UnreadableScope {
    /// The tenant.
    pub tenant: String,
    /// The chat, team or user.
    pub scope: String,
    /// The last error.
    pub error: String,
}

/// The plan of a run over one or more tenants.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The run's identity, as it will head the journal.
    pub header: RunHeader,
    /// The app in each tenant's catalog, in the order of the run's tenants.
    pub apps: Vec<CatalogApp>,
    /// Every target, sorted by tenant, scope and id.
    pub targets: Vec<PlannedTarget>,
    /// Scopes that could not be read: the plan may miss installations there.
    pub unreadable: Vec<UnreadableScope>,
}

impl Plan {
    /// The targets that will be upgraded.
    pub fn behind(&self) -> impl Iterator<Item = &PlannedTarget> {
        self.targets.iter().filter(|t| t.action == Action::Upgrade)
    }

    /// How many targets get `action`.
    pub fn count(&self, action: Action) -> usize {
        self.targets.iter().filter(|t| t.action == action).count()
    }
}
