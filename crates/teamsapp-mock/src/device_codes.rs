//! The device-code flow's pending codes: plain data the emulator's state holds and the token
//! endpoint (`crate::oauth`) reads and writes, so neither module needs the other's internals.

use std::time::Duration;

use crate::identity::DirectoryUser;

/// One device code.
#[derive(Debug, Clone)]
pub(crate) struct PendingCode {
    pub(crate) device_code: String,
    pub(crate) user_code: String,
    /// The tenant named in the URL (or `common`/`organizations`).
    pub(crate) tenant_hint: String,
    pub(crate) client_id: String,
    /// Graph scopes requested (short names), and whether `.default` was asked.
    pub(crate) scopes: Vec<String>,
    pub(crate) default_scope: bool,
    pub(crate) wants_openid: bool,
    pub(crate) audience: String,
    pub(crate) expires_at: Duration,
    pub(crate) approval: Option<Approval>,
}

#[derive(Debug, Clone)]
pub(crate) struct Approval {
    pub(crate) tenant_id: String,
    pub(crate) user: DirectoryUser,
    pub(crate) scopes: Option<Vec<String>>,
}

/// Pending device codes.
#[derive(Debug, Default)]
pub(crate) struct DeviceCodes {
    pub(crate) codes: Vec<PendingCode>,
}

impl DeviceCodes {
    pub(crate) fn prune(&mut self, now: Duration) {
        // Keep expired codes a while, so polls get `expired_token` rather than `invalid_grant`.
        self.codes
            .retain(|c| now < c.expires_at + Duration::from_hours(1));
    }
}
