//! Rehearsals (cargo feature `rehearse`): the fleet run, planned and run by the same engine
//! ([`Fleet`]) against the embedded emulator loaded with a snapshot of the tenant
//! ([`crate::snapshot`]), to see what the real run would do before it is started.
//!
//! The emulator gets the snapshot's tenant, Graph's Teams throttle limits (its defaults; see
//! [`Rehearsal::with_throttle`]) and an app registration with the permissions the snapshot
//! records (the token that read it), under a secret made up for the rehearsal: Graph's rules
//! (permissions, resource-specific consent, versions) then fail the same targets the real run
//! would fail. Nothing is sent to the real tenant.
//!
//! Conditions Graph does not expose through this API, such as an app blocked by a Teams app
//! permission policy, are rehearsed only when given as emulator scenarios
//! ([`Rehearsal::with_scenarios`]).
//!
//! A [`Prediction`] holds the plan, the run's [`Summary`], failures grouped by cause with the
//! fix ([`FailureCause`]), the duration the real run needs at the throttle limit
//! ([`Estimate`], computed from the targets and the rate, not from the rehearsal's wall time),
//! and the [`FleetReport`] of the rehearsal's journal.

use crate::journal::{State, Target};
use crate::plan::Action;
use crate::report::FleetReport;
use crate::{Error, EventSink, Fleet, Options, Plan, Summary, Tenant};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use teamsapp_client::{Client, ClientSecretCredential, RateLimit};
use teamsapp_mock::{Emulator, EmulatorConfig, Scenario, TenantSource, ThrottleConfig};
use teamsapp_model::spec::{AppRegistrationSpec, InstallationScope, TenantSpec};
use teamsapp_types::operation::OperationClass;

/// The client id the rehearsal's app registration gets when the snapshot names none.
const REHEARSAL_CLIENT_ID: &str = "7e4ea75a-0000-4000-8000-00000000fee1";

/// A fleet run to rehearse on a tenant snapshot.
#[derive(Debug, Clone)]
pub struct Rehearsal {
    spec: TenantSpec,
    permissions: Option<Vec<String>>,
    throttle: ThrottleConfig,
    rate: RateLimit,
    scenarios: Vec<Scenario>,
    fast: bool,
}

/// What the real run would do, as rehearsed.
#[derive(Debug, Clone)]
pub struct Prediction {
    /// The plan, as the real run would make it (targets keep the tenant's ids).
    pub plan: Plan,
    /// The rehearsed run (its journal is the path given to [`Rehearsal::run`]).
    pub summary: Summary,
    /// The failures, grouped by cause, most frequent first.
    pub causes: Vec<FailureCause>,
    /// How long the real run would take at the throttle limit.
    pub estimate: Estimate,
    /// The report `fleet report` prints for the rehearsal's journal.
    pub report: FleetReport,
    /// Requests the rehearsal sent to the emulator (retries included).
    pub requests: u64,
}

impl Prediction {
    /// Targets by predicted outcome: `upgraded` (and verified), `failed`, `skipped` (gone when
    /// upgraded), `current`, `gone` (in the plan), `not started` (the run would stop first).
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        BTreeMap::from([
            ("upgraded", self.summary.count(State::Verified)),
            ("failed", self.summary.count(State::Failed)),
            ("skipped", self.summary.count(State::Skipped)),
            ("current", self.plan.count(Action::Current)),
            ("gone", self.plan.count(Action::Gone)),
            ("not started", self.summary.not_started),
        ])
    }
}

/// Failures that share a cause, and what fixes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureCause {
    /// What went wrong, in a sentence.
    pub cause: String,
    /// What to do before the real run.
    pub fix: String,
    /// Graph's status, when it answered.
    pub status: Option<u16>,
    /// Graph's error code, when it sent one.
    pub code: Option<String>,
    /// How many targets failed this way.
    pub targets: usize,
    /// Up to three of them.
    pub examples: Vec<Target>,
}

/// The real run's duration at the throttle limit, from the number of requests it needs and the
/// rate each class allows.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// `GET`s to discover the targets (catalog, users, chats, teams, each scope's apps).
    pub discovery_reads: u64,
    /// Upgrade requests (`POST …/upgrade`), one per target the run would try.
    pub upgrades: u64,
    /// `GET`s to read each upgraded target back.
    pub verification_reads: u64,
    /// `GET`s per second the run may send (the lower of the tenant's limit and the client's).
    pub read_rate: f64,
    /// `POST`s per second.
    pub write_rate: f64,
    /// Discovery, then upgrades and read-backs side by side, each at its class's rate.
    pub duration: Duration,
}

impl Rehearsal {
    /// A rehearsal on `spec` (a snapshot: it must say which permissions read it, or be given
    /// them with [`Rehearsal::with_permissions`]).
    pub fn new(spec: TenantSpec) -> Result<Self, Error> {
        spec.check_format()
            .map_err(|e| Error::Options(format!("the snapshot cannot be used: {e}")))?;
        Ok(Self {
            spec,
            permissions: None,
            throttle: ThrottleConfig::default(),
            rate: RateLimit::teams_defaults(),
            scenarios: Vec::new(),
            fast: false,
        })
    }

    /// The application permissions of the rehearsal's app registration, instead of those the
    /// snapshot records.
    #[must_use]
    pub fn with_permissions(mut self, permissions: Vec<String>) -> Self {
        self.permissions = Some(permissions);
        self
    }

    /// The tenant's throttle limits (default: Graph's published Teams limits).
    #[must_use]
    pub fn with_throttle(mut self, throttle: ThrottleConfig) -> Self {
        self.throttle = throttle;
        self
    }

    /// The client's own rate limit, as the real run's (default: Graph's Teams limits).
    #[must_use]
    pub fn with_rate(mut self, rate: RateLimit) -> Self {
        self.rate = rate;
        self
    }

    /// Known conditions the snapshot cannot show (an app blocked by policy), as emulator
    /// scenarios answered during the rehearsal.
    #[must_use]
    pub fn with_scenarios(mut self, scenarios: Vec<Scenario>) -> Self {
        self.scenarios = scenarios;
        self
    }

    /// Runs the rehearsal without throttling (the emulator's and the client's), so a large
    /// tenant is rehearsed in minutes rather than in the hours the real run takes; the
    /// [`Estimate`] still uses the real limits ([`Rehearsal::with_throttle`],
    /// [`Rehearsal::with_rate`]). Throttling itself (429s and waits) is then not rehearsed.
    #[must_use]
    pub fn fast(mut self, fast: bool) -> Self {
        self.fast = fast;
        self
    }

    /// The snapshot.
    pub fn spec(&self) -> &TenantSpec {
        &self.spec
    }

    fn permissions(&self) -> Result<Vec<String>, Error> {
        if let Some(p) = &self.permissions {
            return Ok(p.clone());
        }
        match &self.spec.snapshot {
            Some(s) if s.permission_type == "application" => Ok(s.permissions.clone()),
            Some(s) => Err(Error::Options(format!(
                "the snapshot was read with {} permissions; a rehearsal needs the application permissions of the run's app registration",
                s.permission_type
            ))),
            None => Err(Error::Options(
                "the tenant file is not a snapshot (it has no `snapshot` provenance): it does not say which permissions the run has".into(),
            )),
        }
    }

    /// Starts the emulator on the snapshot, plans and runs `options` with the same engine as a
    /// real run (journaling to `journal`, which must not exist), and stops the emulator.
    pub async fn run(
        &self,
        options: Options,
        journal: &Path,
        events: EventSink,
    ) -> Result<Prediction, Error> {
        let permissions = self.permissions()?;
        let secret = made_up_secret()?;
        let client_id = self
            .spec
            .snapshot
            .as_ref()
            .and_then(|s| s.client_id.clone())
            .unwrap_or_else(|| REHEARSAL_CLIENT_ID.to_owned());
        let mut spec = self.spec.clone();
        spec.app_registrations = vec![AppRegistrationSpec {
            client_id: client_id.clone(),
            client_secret: secret.clone(),
            display_name: "teamsapp rehearsal".into(),
            application_permissions: permissions,
            selected_teams_apps: Vec::new(),
        }];
        spec.delegated_grants.clear();
        let tenant_id = spec.tenant_id.clone();
        // Handed over once, not kept by the emulator for resets (it is never reset): at 100k
        // installations the spec is as large as the emulator's whole state.
        let handed = std::sync::Mutex::new(Some(spec));
        let source = TenantSource::new(move || {
            handed
                .lock()
                .ok()
                .and_then(|mut spec| spec.take())
                .map(|spec| vec![spec])
                .ok_or_else(|| "a rehearsal's emulator is never reset".to_owned())
        });
        let emulator = Emulator::start(EmulatorConfig {
            tenant_source: Some(source),
            throttle: if self.fast {
                ThrottleConfig::disabled()
            } else {
                self.throttle.clone()
            },
            scenarios: self.scenarios.clone(),
            ..EmulatorConfig::default()
        })
        .await
        .map_err(|e| Error::Options(format!("the rehearsal's emulator did not start: {e}")))?;
        let result = self
            .rehearse(
                &emulator, &tenant_id, &client_id, &secret, options, journal, events,
            )
            .await;
        let requests = emulator.state().metrics().requests_total;
        let _ = emulator.shutdown().await;
        let (plan, summary) = result?;
        let report = FleetReport::from_journal(journal)?;
        Ok(Prediction {
            estimate: self.estimate(&plan, &summary),
            causes: causes(&summary),
            plan,
            summary,
            report,
            requests,
        })
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "one private step of run(), which owns these values"
    )]
    async fn rehearse(
        &self,
        emulator: &Emulator,
        tenant_id: &str,
        client_id: &str,
        secret: &str,
        options: Options,
        journal: &Path,
        events: EventSink,
    ) -> Result<(Plan, Summary), Error> {
        let client = Client::builder()
            .base_url(emulator.graph_url())
            .authority(emulator.authority())
            .rate_limit(if self.fast {
                RateLimit::disabled()
            } else {
                self.rate.clone()
            })
            .credential(
                ClientSecretCredential::new(tenant_id, client_id, secret)
                    .with_authority(emulator.authority()),
            )
            .build()
            .map_err(|e| Error::graph("building the rehearsal's client", e))?;
        let fleet = Fleet::new(
            vec![Tenant {
                id: tenant_id.to_owned(),
                client,
            }],
            options,
        )?
        .with_events(events);
        let prepared = fleet.prepare(journal).await?;
        let plan = prepared.plan.clone();
        let summary = fleet.upgrade(prepared).await?;
        Ok((plan, summary))
    }

    /// The requests the real run needs and how long they take at the limit.
    fn estimate(&self, plan: &Plan, summary: &Summary) -> Estimate {
        let rate = |class: OperationClass, tenant: f64| {
            let client = self.rate.rate(class).map_or(f64::INFINITY, f64::from);
            let tenant = if self.throttle.enabled && tenant > 0.0 {
                tenant
            } else {
                f64::INFINITY
            };
            tenant.min(client)
        };
        let read_rate = rate(OperationClass::Read, self.throttle.read.per_second);
        let write_rate = rate(OperationClass::Write, self.throttle.write.per_second);
        let discovery_reads = self.discovery_reads(plan);
        // Every target the run tries is sent once and read back at least once; those a limit
        // or a failed canary would leave unstarted cost nothing.
        let upgrades = summary.outcomes.len() as u64;
        let verification_reads = upgrades;
        let secs = |n: u64, per: f64| {
            if per.is_finite() && per > 0.0 {
                // Counts above 4 billion saturate: far beyond any tenant.
                f64::from(u32::try_from(n).unwrap_or(u32::MAX)) / per
            } else {
                0.0
            }
        };
        let duration = secs(discovery_reads, read_rate)
            + secs(upgrades, write_rate).max(secs(verification_reads, read_rate));
        Estimate {
            discovery_reads,
            upgrades,
            verification_reads,
            read_rate,
            write_rate,
            duration: Duration::from_secs_f64(duration),
        }
    }

    /// `GET`s discovery sends in this tenant: the catalog, the users (pages of 999), each
    /// user's chats (pages of 50), the teams (pages of 999), and one page of installed apps per
    /// scope; a targets file reads each target once.
    fn discovery_reads(&self, plan: &Plan) -> u64 {
        let spec = &self.spec;
        let scopes = &plan.header.scopes;
        let wants =
            |s: InstallationScope| scopes.iter().any(|n| *n == s.name().to_ascii_lowercase());
        let pages = |n: usize, size: usize| n.div_ceil(size).max(1) as u64;
        if plan.header.source == "targets" {
            return 1 + plan.targets.len() as u64;
        }
        let mut reads = 1; // the catalog
        if wants(InstallationScope::Chat) || wants(InstallationScope::User) {
            reads += pages(spec.users.len(), 999);
        }
        if wants(InstallationScope::Chat) {
            let mut chats_of: BTreeMap<&str, usize> = BTreeMap::new();
            for c in &spec.chats {
                for m in &c.members {
                    *chats_of.entry(m.as_str()).or_default() += 1;
                }
            }
            reads += spec
                .users
                .iter()
                .map(|u| pages(chats_of.get(u.id.as_str()).copied().unwrap_or(0), 50))
                .sum::<u64>();
            reads += spec.chats.len() as u64;
        }
        if wants(InstallationScope::User) {
            reads += spec.users.len() as u64;
        }
        if wants(InstallationScope::Team) {
            reads += pages(spec.teams.len(), 999) + spec.teams.len() as u64;
        }
        reads
    }
}

/// A secret for the rehearsal's own app registration: never the real one, never shown; 32
/// random bytes from the system's generator (through aws-lc-rs).
fn made_up_secret() -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| {
        Error::Options("the system has no randomness for the rehearsal's app secret".into())
    })?;
    Ok(crate::snapshot::hex(&bytes))
}

/// A failure group: cause, fix, status, code.
type CauseKey = (String, String, Option<u16>, Option<String>);

/// The failures of a run, grouped by cause, most frequent first.
pub fn causes(summary: &Summary) -> Vec<FailureCause> {
    let mut groups: BTreeMap<CauseKey, Vec<Target>> = BTreeMap::new();
    for o in summary.outcomes.iter().filter(|o| o.state == State::Failed) {
        let status = o.error.as_ref().and_then(|e| e.status);
        let code = o.error.as_ref().and_then(|e| e.code.clone());
        let (cause, fix) = classify(status, o.detail.as_deref().unwrap_or(""), &o.target);
        groups
            .entry((cause, fix, status, code))
            .or_default()
            .push(o.target.clone());
    }
    let mut out: Vec<FailureCause> = groups
        .into_iter()
        .map(|((cause, fix, status, code), mut targets)| {
            // In the plan's order, whatever order they finished in.
            targets.sort();
            FailureCause {
                cause,
                fix,
                status,
                code,
                targets: targets.len(),
                examples: targets.into_iter().take(3).collect(),
            }
        })
        .collect();
    out.sort_by(|a, b| b.targets.cmp(&a.targets).then(a.cause.cmp(&b.cause)));
    out
}

/// What a failure means and what fixes it, from Graph's status and message.
fn classify(status: Option<u16>, detail: &str, target: &Target) -> (String, String) {
    let lower = detail.to_ascii_lowercase();
    let scope = match target.scope.kind() {
        "chat" => InstallationScope::Chat,
        "team" => InstallationScope::Team,
        _ => InstallationScope::User,
    };
    let and_consent = match scope {
        InstallationScope::Chat => "TeamsAppInstallation.ReadWriteAndConsentForChat.All",
        InstallationScope::Team => "TeamsAppInstallation.ReadWriteAndConsentForTeam.All",
        InstallationScope::User => "TeamsAppInstallation.ReadWriteAndConsentForUser.All",
    };
    match status {
        Some(403) if lower.contains("block") || lower.contains("policy") => (
            "the app is blocked by a Teams app policy".into(),
            "unblock the app in the Teams admin center (Teams apps > Manage apps), or allow it in the app permission policy of the users and teams concerned".into(),
        ),
        // Graph answers 400 when the permissions fail only because they cannot consent to RSC
        // (microsoft-graph-docs#13348); older answers were 403.
        Some(400) if lower.contains("can't be used to install") => (
            format!(
                "the new version needs resource-specific consent in {} scopes, which the run's permissions cannot grant",
                scope.as_str()
            ),
            format!(
                "grant the app registration the application permission {and_consent} and have an admin consent to it"
            ),
        ),
        Some(403) if lower.contains("resource-specific") || lower.contains("consent") => (
            format!(
                "the new version needs resource-specific consent in {} scopes, which the run's permissions cannot grant",
                scope.as_str()
            ),
            format!(
                "grant the app registration the application permission {and_consent} and have an admin consent to it"
            ),
        ),
        Some(403) => (
            format!("the run's permissions do not allow upgrades in {} scopes", scope.as_str()),
            format!(
                "grant the app registration a permission Graph accepts here (e.g. {}) and have an admin consent to it; Graph said: {}",
                and_consent.replace("AndConsent", ""),
                short(detail)
            ),
        ),
        Some(400) if lower.contains("consent") || lower.contains("permission") => (
            "the consent sent does not match the new version's resource-specific permissions".into(),
            format!("check the app's manifest and catalog definition; Graph said: {}", short(detail)),
        ),
        Some(401) => (
            "the run's sign-in was refused".into(),
            "check the app registration's secret and that it is consented in the tenant".into(),
        ),
        Some(404) => (
            "the installation or its scope is gone".into(),
            "nothing to do: plan again before the run".into(),
        ),
        Some(429 | 500..=599) | None => (
            "throttling, service or network errors outlasted the retries".into(),
            "run at a lower --rate or --concurrency, or resume the run later".into(),
        ),
        Some(s) => (
            format!("Graph answered {s}"),
            format!("see Graph's message: {}", short(detail)),
        ),
    }
}

fn short(detail: &str) -> String {
    let mut s: String = detail.chars().take(200).collect();
    if s.len() < detail.len() {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use teamsapp_types::{AppInstallationId, ChatId, Scope};

    fn chat_target() -> Target {
        Target {
            tenant: "t".to_owned(),
            scope: Scope::Chat(ChatId::new("19:abc@thread.v2").unwrap()),
            installation: AppInstallationId::new("aW5zdA==").unwrap(),
        }
    }

    #[test]
    fn a_permission_that_cannot_consent_to_rsc_is_diagnosed_as_such_400_or_403() {
        let detail = "The permission 'TeamsAppInstallation.ReadWriteForChat.All' can't be used to install apps that require consent to resource-specific permissions; use a ReadWriteAndConsent or ManageSelected permission.";
        for status in [400, 403] {
            let (cause, fix) = classify(Some(status), detail, &chat_target());
            assert!(
                cause.contains("needs resource-specific consent"),
                "{status}: {cause}"
            );
            assert!(
                fix.contains("ReadWriteAndConsentForChat.All"),
                "{status}: {fix}"
            );
        }
        // A consent that does not match stays a 400 of its own.
        let (cause, _) = classify(
            Some(400),
            "The permissions consented to must match the resource-specific permissions defined in the teamsAppDefinition of the app.",
            &chat_target(),
        );
        assert!(cause.contains("does not match"), "{cause}");
    }
}
