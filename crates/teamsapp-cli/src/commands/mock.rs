//! `teamsapp mock serve`: the emulator as a standalone process.

use crate::cli::MockServeArgs;
use crate::context::UsageError;
use crate::exit::ExitStatus;
use anyhow::{Context as _, Result};
use std::fmt::Write as _;
use std::io::Write;
use std::time::Duration;
use teamsapp_mock::teamsapp_model::spec::TenantSpec;
use teamsapp_mock::{
    ClientSecret, Emulator, EmulatorConfig, RateLimit, TenantSource, ThrottleConfig, TlsConfig,
};

/// The environment variable that holds the admin key (a flag would show it in `ps`).
const ADMIN_KEY_ENV: &str = "TEAMSAPP_EMULATOR_ADMIN_KEY";

/// The admin key: the first line of `file`, else the environment's, else none.
fn admin_key(file: Option<&std::path::Path>) -> Result<Option<ClientSecret>> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| UsageError(format!("--admin-key-file {}: {e}", path.display())))?;
        let key = text.lines().next().unwrap_or("").trim();
        if key.is_empty() {
            return Err(UsageError(format!(
                "--admin-key-file {}: the file is empty; write the key on its first line",
                path.display()
            ))
            .into());
        }
        return Ok(Some(ClientSecret::new(key)));
    }
    match std::env::var(ADMIN_KEY_ENV) {
        Ok(key) if !key.trim().is_empty() => Ok(Some(ClientSecret::new(key.trim()))),
        Ok(_) => Err(UsageError(format!("{ADMIN_KEY_ENV} is set but empty")).into()),
        Err(_) => Ok(None),
    }
}

/// Serves until Ctrl-C or SIGTERM. The first line on stdout holds the base URL.
pub(crate) async fn serve(args: MockServeArgs, out: &mut dyn Write) -> Result<ExitStatus> {
    let listen = args
        .listen
        .parse()
        .map_err(|e| UsageError(format!("--listen {:?}: {e}", args.listen)))?;
    let mut config = EmulatorConfig::demo();
    config.listen = listen;
    // The tenants come from a source, not `config.tenants`: the emulator hands them to its model
    // and drops them, so a million installations are held once, in the model's compact state.
    // The tenant the banner's credentials sign in to: the demo's, or the tenant file's.
    // The file is parsed here, to refuse a bad one before serving; the emulator takes that parse
    // at start (or, resuming a data directory, never: it is dropped once the emulator runs).
    let parsed = std::sync::Arc::new(std::sync::Mutex::new(None));
    let mut tenant_id = teamsapp_mock::teamsapp_model::demo::CREDENTIALS
        .tenant_id
        .to_owned();
    if let Some(path) = &args.tenant_file {
        let first = read_tenant_file(path)?;
        tenant_id.clone_from(&first.tenant_id);
        let path = path.clone();
        if let Ok(mut slot) = parsed.lock() {
            *slot = Some(first);
        }
        let first = std::sync::Arc::clone(&parsed);
        config.tenants.clear();
        config.tenant_source = Some(TenantSource::new(move || {
            // The parse of the start if it is still there; read again at a reset.
            let taken = first.lock().map_or(None, |mut f| f.take());
            match taken {
                Some(spec) => Ok(vec![spec]),
                None => read_tenant_file(&path)
                    .map(|spec| vec![spec])
                    .map_err(|e| e.0),
            }
        }));
    }
    if let Some(n) = args.fleet {
        config.tenants.clear();
        config.tenant_source = Some(TenantSource::new(move || {
            Ok(vec![teamsapp_mock::teamsapp_model::demo::fleet(n)])
        }));
    }
    config.data_dir.clone_from(&args.data_dir);
    config.origins.clone_from(&args.origins);
    config.allow_demo_credentials = args.allow_demo_credentials;
    let beyond_loopback = !config.listen.ip().is_loopback();
    let mut generated_key = None;
    config.admin_key = match admin_key(args.admin_key_file.as_deref())? {
        Some(key) => Some(key),
        None if beyond_loopback => {
            let key = ClientSecret::generate();
            generated_key = Some(key.expose().to_owned());
            Some(key)
        }
        None => None,
    };
    if args.truncate_damaged {
        config.recovery = teamsapp_mock::Recovery::TruncateDamaged;
    }
    if args.tls {
        config.tls = TlsConfig::SelfSigned {
            dir: args.data_dir.clone(),
        };
    }
    if let Some(rps) = args.throttle {
        if !(rps.is_finite() && rps >= 0.0) {
            return Err(UsageError(format!(
                "--throttle {rps}: expected requests per second, 0 for no throttling"
            ))
            .into());
        }
        config.throttle = if rps == 0.0 {
            ThrottleConfig::disabled()
        } else {
            let limit = RateLimit::per_second(rps);
            ThrottleConfig {
                enabled: true,
                read: limit,
                write: limit,
                patch: limit,
                delete: limit,
                ..ThrottleConfig::default()
            }
        };
    }
    if let Some(fraction) = args.faults {
        if !(0.0..=1.0).contains(&fraction) {
            return Err(UsageError(format!(
                "--faults {fraction}: expected a fraction between 0 and 1"
            ))
            .into());
        }
        config.faults.too_many_requests = fraction / 3.0;
        config.faults.service_unavailable = fraction / 3.0;
        config.faults.gateway_timeout = fraction / 3.0;
    }
    config.faults.retry_after_seconds = args.fault_retry_after;
    if let Some(seed) = args.seed {
        config.faults.seed = seed;
        config.world = config.world.with_seed(seed);
    }
    config.connections.header_timeout = Duration::from_secs(args.header_timeout);
    config.connections.idle_timeout = Duration::from_secs(args.idle_timeout);
    config.connections.max_connections = args
        .max_connections
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let emulator = Emulator::start(config)
        .await
        .context("starting the emulator")?;
    if let Ok(mut slot) = parsed.lock() {
        slot.take();
    }
    let creds = teamsapp_mock::teamsapp_model::demo::CREDENTIALS;
    let mut banner = if beyond_loopback {
        let bound = emulator.local_addr();
        let scheme = if emulator.state().is_https() {
            "https"
        } else {
            "http"
        };
        let reach = if bound.ip().is_unspecified() {
            "all interfaces"
        } else {
            "beyond loopback"
        };
        format!(
            "teamsapp emulator listening on {scheme}://{bound} ({reach}; Graph: {})\n",
            emulator.graph_url()
        )
    } else {
        format!(
            "teamsapp emulator listening on {} (Graph: {})\n",
            emulator.origin(),
            emulator.graph_url()
        )
    };
    if beyond_loopback {
        tracing::warn!(
            "the emulator listens on {} beyond loopback: anyone who can reach the port can call \
             it; the admin API needs its key and the published demo secrets are {}",
            emulator.local_addr(),
            if args.allow_demo_credentials {
                "ALLOWED (--allow-demo-credentials)"
            } else {
                "refused"
            }
        );
    }
    if let Some(key) = &generated_key {
        let _ = writeln!(
            banner,
            "admin key (generated; send it as x-emulator-admin-key): {key}"
        );
    }
    if let Some(cert) = emulator.state().tls_cert_path() {
        let _ = writeln!(banner, "certificate: {}", cert.display());
    }
    // What to paste into another shell to point `teamsapp` at this emulator. The authority
    // defaults to the base URL's origin, so TEAMSAPP_AUTHORITY is not needed. The secret is the
    // demo tenant's published, well-known one (like Azurite's key), not a real credential.
    let demo_secret_works = !beyond_loopback || args.allow_demo_credentials;
    let _ = writeln!(banner, "export TEAMSAPP_BASE_URL={}", emulator.graph_url());
    let _ = writeln!(banner, "export TEAMSAPP_TENANT={tenant_id}");
    let _ = writeln!(banner, "export TEAMSAPP_CLIENT_ID={}", creds.client_id);
    if demo_secret_works {
        let _ = writeln!(
            banner,
            "export TEAMSAPP_CLIENT_SECRET='{}'",
            creds.client_secret
        );
    }
    if let Some(cert) = emulator.state().tls_cert_path() {
        let _ = writeln!(banner, "export TEAMSAPP_CA_CERT={}", cert.display());
    }
    // The last line of the banner (harnesses wait for it).
    if demo_secret_works {
        let _ = writeln!(
            banner,
            "demo tenant {} client id {}: paste the export lines above into another shell (the \
             secret is the published demo one, for local use only)",
            tenant_id, creds.client_id
        );
    } else {
        let _ = writeln!(
            banner,
            "demo tenant {} client id {}: the published demo secrets are refused beyond loopback; \
             sign in with a secret of your own tenant file, or restart with \
             --allow-demo-credentials",
            tenant_id, creds.client_id
        );
    }
    // Whoever reads the banner may close the pipe after the first line; keep serving anyway.
    if let Err(err) = out.write_all(banner.as_bytes()).and_then(|()| out.flush()) {
        tracing::debug!("could not print the whole banner: {err}");
    }
    shutdown_signal().await;
    emulator.shutdown().await.context("stopping the emulator")?;
    Ok(ExitStatus::Success)
}

/// A snapshot holds no app registration (no secret): give it the demo's fleet tool, with the
/// permissions the snapshot was read with, so the banner's credentials sign in to it.
fn snapshot_app(spec: &mut teamsapp_mock::teamsapp_model::spec::TenantSpec) {
    let Some(snapshot) = &spec.snapshot else {
        return;
    };
    if !spec.app_registrations.is_empty() {
        return;
    }
    let creds = teamsapp_mock::teamsapp_model::demo::CREDENTIALS;
    spec.app_registrations
        .push(teamsapp_mock::teamsapp_model::spec::AppRegistrationSpec {
            client_id: creds.client_id.to_owned(),
            client_secret: creds.client_secret.to_owned(),
            display_name: "teamsapp (snapshot)".to_owned(),
            application_permissions: if snapshot.permission_type == "application" {
                snapshot.permissions.clone()
            } else {
                teamsapp_mock::teamsapp_model::demo::FLEET_PERMISSIONS
                    .iter()
                    .map(|p| (*p).to_owned())
                    .collect()
            },
            selected_teams_apps: Vec::new(),
        });
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// Reads and parses a tenant file (`--tenant-file`).
fn read_tenant_file(path: &std::path::Path) -> Result<TenantSpec, UsageError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError(format!("reading {}: {e}", path.display())))?;
    let mut spec: TenantSpec = serde_json::from_str(&text)
        .map_err(|e| UsageError(format!("{} is not a tenant file: {e}", path.display())))?;
    snapshot_app(&mut spec);
    Ok(spec)
}
