//! The emulator as a real process: `teamsapp mock serve` from the workspace's build, on an
//! ephemeral port, plain or HTTPS, with its memory readable from `/proc`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use teamsapp_client::Client;

use crate::emulator::{Admin, REQUEST_TIMEOUT, aimed, demo_app_credential};

/// How long `mock serve` may take to print its address.
const STARTUP: Duration = Duration::from_secs(20);

/// Environment variables the CLI reads that must not leak from the developer's shell into a
/// test.
pub const CLI_ENV: &[&str] = &[
    "TEAMSAPP_TOKEN",
    "TEAMSAPP_CLIENT_SECRET",
    "TEAMSAPP_TENANT",
    "TEAMSAPP_CLIENT_ID",
    "TEAMSAPP_BASE_URL",
    "TEAMSAPP_AUTHORITY",
    "TEAMSAPP_CLOUD",
    "TEAMSAPP_TOKEN_CACHE",
    "TEAMSAPP_CA_CERT",
    "RUST_LOG",
];

/// The `teamsapp` binary next to the running test executable (`target/<profile>/teamsapp`).
///
/// `CARGO_BIN_EXE_teamsapp` exists only in the CLI's own package; `cargo test --workspace`
/// builds the binary before running any test, `cargo test -p teamsapp-e2e` alone does not.
pub fn teamsapp_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test executable lives in target/<profile>/deps");
    let binary = profile_dir.join(format!("teamsapp{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.is_file(),
        "the `teamsapp` binary is not at {}: run `cargo test --workspace` (which builds it) or \
         `cargo build -p teamsapp-cli` first",
        binary.display()
    );
    binary
}

/// A `teamsapp` command with a clean environment: no credentials or endpoints from the shell, a
/// token cache in `home`.
pub fn teamsapp_command(home: &Path) -> Command {
    let mut command = Command::new(teamsapp_binary());
    for var in CLI_ENV {
        command.env_remove(var);
    }
    command
        .env("TEAMSAPP_TOKEN_CACHE", home.join("token.json"))
        .env("HOME", home);
    command
}

/// `teamsapp mock serve` running as a child process; killed when dropped.
#[derive(Debug)]
pub struct EmulatorProcess {
    child: Child,
    origin: String,
    cert: Option<PathBuf>,
    dir: tempfile::TempDir,
    http: reqwest::Client,
}

impl EmulatorProcess {
    /// Starts `teamsapp mock serve --listen 127.0.0.1:0 ARGS…` and waits (at most 20 s) for it
    /// to print its address. Blocks the calling thread meanwhile.
    pub fn spawn(args: &[&str]) -> Self {
        Self::start(args, false, None)
    }

    /// The same over HTTPS (`--tls`, the certificate and the data in a temporary directory); the
    /// clients it hands out trust that certificate and nothing else.
    pub fn spawn_tls(args: &[&str]) -> Self {
        Self::start(args, true, None)
    }

    /// The same as [`spawn`](Self::spawn) with at most `open_files` file descriptors (the soft
    /// and hard `RLIMIT_NOFILE`, set by `sh -c 'ulimit -n N; exec …'`): Unix only.
    pub fn spawn_with_open_files(open_files: u32, args: &[&str]) -> Self {
        Self::start(args, false, Some(open_files))
    }

    fn start(args: &[&str], tls: bool, open_files: Option<u32>) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let stderr_path = dir.path().join("stderr.log");
        let stderr = std::fs::File::create(&stderr_path).expect("a stderr file");
        let mut command = match open_files {
            None => teamsapp_command(dir.path()),
            Some(limit) => {
                let sh = teamsapp_command(dir.path());
                let program = sh.get_program().to_owned();
                let mut command = Command::new("sh");
                command
                    .arg("-c")
                    .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
                    .arg(program);
                for (key, value) in sh.get_envs() {
                    match value {
                        Some(value) => command.env(key, value),
                        None => command.env_remove(key),
                    };
                }
                command
            }
        };
        command
            .args(["mock", "serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        if tls {
            command
                .arg("--tls")
                .arg("--data-dir")
                .arg(dir.path().join("data"));
        }
        let mut child = command.spawn().expect("spawns `teamsapp mock serve`");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel::<String>();
        // Reads every line (so the child never blocks on a full pipe), forwarding them.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    // Nobody listens any more; keep draining.
                }
            }
        });
        let deadline = Instant::now() + STARTUP;
        let mut lines = Vec::new();
        let fail = |child: &mut Child, lines: &[String], why: &str| -> ! {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`teamsapp mock serve {}` {why}\nstdout: {lines:?}\nstderr: {}",
                args.join(" "),
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            )
        };
        // The first line holds the address; with --tls the certificate line follows; the demo
        // tenant line ends the banner.
        while !lines.iter().any(|l: &String| l.starts_with("demo tenant")) {
            let left = deadline.saturating_duration_since(Instant::now());
            if let Ok(line) = rx.recv_timeout(left) {
                lines.push(line);
            } else {
                if lines.is_empty() {
                    fail(&mut child, &lines, "printed no address within 20 s");
                }
                break;
            }
        }
        let Some(origin) = lines.first().and_then(|l| parse_origin(l)) else {
            fail(&mut child, &lines, "did not print its address first");
        };
        let cert = lines
            .iter()
            .find_map(|l| l.strip_prefix("certificate: "))
            .map(PathBuf::from);
        if tls && cert.is_none() {
            fail(
                &mut child,
                &lines,
                "served HTTPS without naming its certificate",
            );
        }
        let http = match &cert {
            Some(path) => trusting(path),
            None => crate::emulator::http_client(),
        };
        Self {
            child,
            origin,
            cert,
            dir,
            http,
        }
    }

    /// `scheme://127.0.0.1:PORT`, as printed.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// `{origin}/v1.0`.
    pub fn graph_url(&self) -> String {
        format!("{}/v1.0", self.origin)
    }

    /// The certificate file of an HTTPS emulator.
    pub fn cert(&self) -> Option<&Path> {
        self.cert.as_deref()
    }

    /// A temporary directory that lives as long as the process.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A reqwest client for it (trusting only its certificate when it serves HTTPS).
    pub fn http(&self) -> reqwest::Client {
        self.http.clone()
    }

    /// Its admin API.
    pub fn admin(&self) -> Admin {
        Admin::new(&self.origin, self.http.clone())
    }

    /// The demo fleet tool signed in through the process's token endpoint, over the process's
    /// trust (its certificate with HTTPS).
    pub fn app_client(&self) -> Client {
        aimed(
            Client::from_reqwest(self.http.clone()),
            &self.graph_url(),
            &self.origin,
        )
        .credential(demo_app_credential(&self.origin))
        .build()
        .expect("the client builds")
    }

    /// The resident set size (`VmRSS` of `/proc/<pid>/status`), in KiB; `None` where `/proc`
    /// does not exist.
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `scheme://host:port` from `teamsapp emulator listening on ORIGIN (Graph: …)`.
fn parse_origin(line: &str) -> Option<String> {
    let rest = line.split("listening on ").nth(1)?;
    let origin = rest.split_whitespace().next()?;
    (origin.starts_with("http://") || origin.starts_with("https://"))
        .then(|| origin.trim_end_matches('/').to_owned())
}

/// A reqwest client that trusts the PEM certificate at `path` and nothing else.
pub fn trusting(path: &Path) -> reqwest::Client {
    let pem = std::fs::read(path)
        .unwrap_or_else(|e| panic!("reading the certificate {}: {e}", path.display()));
    let certs = reqwest::Certificate::from_pem_bundle(&pem).expect("a PEM certificate");
    reqwest::Client::builder()
        .tls_certs_only(certs)
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .build()
        .expect("a reqwest client builds")
}
