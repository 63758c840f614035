//! Child processes with time limits: servers that announce themselves on their first stdout line,
//! commands that must finish in time, resident memory from `/proc`, free loopback ports.

use anyhow::{Context as _, Result, anyhow, bail};
use std::io::{BufRead as _, BufReader};
use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A child process that is killed when dropped.
#[derive(Debug)]
pub(crate) struct Guard {
    child: Child,
    name: String,
}

impl Guard {
    /// Takes ownership of `child`.
    pub(crate) fn new(child: Child, name: impl Into<String>) -> Self {
        Self {
            child,
            name: name.into(),
        }
    }

    /// The process id.
    pub(crate) fn id(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub(crate) fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the process (this one only, by its id) and reaps it.
    pub(crate) fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.kill();
    }
}

impl std::fmt::Display for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (pid {})", self.name, self.child.id())
    }
}

/// Starts `cmd` with stdout piped and waits up to `timeout` for its first stdout line. The rest of
/// stdout is drained on a thread, so the child never blocks on a full pipe.
pub(crate) fn spawn_announced(
    mut cmd: Command,
    name: &str,
    timeout: Duration,
) -> Result<(Guard, String)> {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped());
    let mut child = cmd.spawn().with_context(|| format!("starting {name}"))?;
    let stdout = child.stdout.take().expect("stdout was piped");
    let mut guard = Guard::new(child, name);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let first = reader.read_line(&mut line).map(|_| line.clone());
        let _ = tx.send(first);
        let mut sink = String::new();
        while matches!(reader.read_line(&mut sink), Ok(n) if n > 0) {
            sink.clear();
        }
    });
    match rx.recv_timeout(timeout) {
        Ok(Ok(line)) if !line.is_empty() => Ok((guard, line.trim_end().to_owned())),
        Ok(Ok(_)) => bail!("{name} exited before announcing itself"),
        Ok(Err(e)) => Err(anyhow!(e).context(format!("reading the first line of {name}"))),
        Err(_) => {
            let running = guard.is_running();
            bail!(
                "{name} did not announce itself within {timeout:?}{}",
                if running { "" } else { " (it exited)" }
            )
        }
    }
}

/// Runs `cmd` to completion, killing it after `timeout`.
pub(crate) fn run_with_timeout(
    mut cmd: Command,
    name: &str,
    timeout: Duration,
) -> Result<ExitStatus> {
    let child = cmd.spawn().with_context(|| format!("starting {name}"))?;
    let mut guard = Guard::new(child, name);
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = guard.child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            guard.stop();
            bail!("{name} did not finish within {timeout:?} and was stopped");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Resident and peak resident memory of a process, in bytes (`VmRSS`, `VmHWM`).
pub(crate) fn rss(pid: u32) -> Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let field = |name: &str| -> Result<u64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .ok_or_else(|| anyhow!("no {name} in /proc/{pid}/status"))?;
        let kib: u64 = line
            .trim_start_matches(name)
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .with_context(|| format!("parsing {line:?}"))?;
        Ok(kib * 1024)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// CPU time so far, in clock ticks: the whole machine's busy time and this process's own
/// (itself and the children it has reaped), for telling how much of a suite's CPU went elsewhere.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuTicks {
    total: u64,
    busy: u64,
    own: u64,
}

impl CpuTicks {
    /// Reads `/proc/stat` and `/proc/self/stat`; `None` where they cannot be read.
    pub(crate) fn now() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let cpu: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .take(8)
            .filter_map(|f| f.parse().ok())
            .collect();
        if cpu.len() < 8 {
            return None;
        }
        let total: u64 = cpu.iter().sum();
        let busy = total - cpu[3] - cpu[4];
        let own_stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the command name, which ends with the last `)`: utime is the 14th field of
        // the line, the 12th after it; stime, cutime and cstime follow.
        let after = own_stat.rsplit_once(')')?.1;
        let own: u64 = after
            .split_whitespace()
            .skip(11)
            .take(4)
            .filter_map(|f| f.parse::<u64>().ok())
            .sum();
        Some(Self { total, busy, own })
    }

    /// The share of the machine's CPU capacity that other processes used since `earlier`.
    pub(crate) fn others_share_since(self, earlier: Self) -> f64 {
        let total = self.total.saturating_sub(earlier.total).max(1);
        let busy = self.busy.saturating_sub(earlier.busy);
        let own = self.own.saturating_sub(earlier.own);
        #[allow(clippy::cast_precision_loss, reason = "tick counts far below 2^52")]
        let share = busy.saturating_sub(own) as f64 / total as f64;
        share
    }
}

/// The 1-minute load average.
pub(crate) fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A loopback port nobody listens on right now.
pub(crate) fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// The first line a command prints (stdout, else stderr), for tool versions.
pub(crate) fn version_line(program: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = if out.stdout.is_empty() {
        out.stderr
    } else {
        out.stdout
    };
    String::from_utf8_lossy(&text)
        .lines()
        .next()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
}
