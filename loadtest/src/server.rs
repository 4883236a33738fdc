//! The server under test: started as a child process (`muster serve`) or already running
//! (`--url`, with `--pid` for its figures), and its CPU and memory read from `/proc`.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A `muster serve` this tool started.
pub struct Spawned {
    child: Child,
    pub pid: u32,
    pub url: String,
    /// Spawn → `/healthz` answered: roster load plus rebuild of the log.
    pub startup: Duration,
}

/// Starts `bin serve --db DB --bind 127.0.0.1:0`, logging to `log`, and waits until
/// `/healthz` answers. The listener is bound before state is rebuilt, so a request made
/// early waits in the accept queue and its answer marks the moment the server is ready.
pub async fn start(bin: &Path, db: &str, log: &Path) -> anyhow::Result<Spawned> {
    let started = Instant::now();
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("cannot write the server log {}", log.display()))?;
    let mut child = Command::new(bin)
        .args(["serve", "--db", db, "--bind", "127.0.0.1:0"])
        // The English lines, whose form scripts rely on (`listening on URL`).
        .env("MUSTER_LANG", "en")
        .env("RUST_LOG", "muster=info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log_file)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let pid = child.id().context("the server exited at once")?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        match tokio::time::timeout(Duration::from_secs(600), lines.next_line()).await {
            Ok(Ok(Some(line))) => {
                if let Some(addr) = line.strip_prefix("listening on ") {
                    break addr.trim().to_owned();
                }
            }
            _ => bail!("the server did not say where it listens; see {}", log.display()),
        }
    };
    // Keep reading stdout so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let http = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(600)).build()?;
    loop {
        match http.get(format!("{url}/healthz")).send().await {
            Ok(r) if r.status().is_success() => break,
            _ if started.elapsed() > Duration::from_secs(900) => {
                bail!("the server did not become ready; see {}", log.display())
            }
            _ => {
                if let Ok(Some(status)) = child.try_wait() {
                    bail!("the server exited with {status}; see {}", log.display());
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
    Ok(Spawned { child, pid, url, startup: started.elapsed() })
}

impl Spawned {
    /// SIGTERM, as an operator would stop it, and wait for it to finish.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = Command::new("kill").args(["-TERM", &self.pid.to_string()]).status().await;
        match tokio::time::timeout(Duration::from_secs(60), self.child.wait()).await {
            Ok(status) => {
                status?;
            }
            Err(_) => {
                self.child.start_kill()?;
                self.child.wait().await?;
            }
        }
        Ok(())
    }
}

/// The server binary next to this one: `target/release/muster` for a release loadtest.
pub fn default_bin() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("muster")))
        .unwrap_or_else(|| PathBuf::from("muster"))
}

/// One reading of a process's CPU time and memory.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcSample {
    pub at: Option<Instant>,
    /// User + system CPU seconds since the process started.
    pub cpu: f64,
    pub rss_kib: u64,
    /// Peak resident set size (VmHWM).
    pub peak_kib: u64,
    /// Bytes the process caused to be written to storage (`/proc/PID/io`).
    pub write_bytes: u64,
    /// CPU seconds of the whole machine, all processes (`/proc/stat`): what is left after
    /// the server and this tool is other load on the machine, which makes a run noisy.
    pub machine_cpu: f64,
}

/// Reads `/proc/PID` (or `/proc/self` for `None`). Zeros when it cannot.
pub fn sample(pid: Option<u32>) -> ProcSample {
    let dir = pid.map_or_else(|| "/proc/self".to_owned(), |p| format!("/proc/{p}"));
    let mut s = ProcSample { at: Some(Instant::now()), ..ProcSample::default() };
    if let Ok(stat) = std::fs::read_to_string(format!("{dir}/stat")) {
        // Fields after the command name (which may contain spaces) start at field 3.
        if let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) {
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
            // utime and stime are fields 14 and 15: indexes 11 and 12 after the name.
            s.cpu = (ticks(11) + ticks(12)) / clock_ticks();
        }
    }
    if let Ok(io) = std::fs::read_to_string(format!("{dir}/io")) {
        s.write_bytes =
            io.lines().find_map(|l| l.strip_prefix("write_bytes:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
    }
    if let Ok(stat) = std::fs::read_to_string("/proc/stat") {
        // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
        if let Some(line) = stat.lines().next() {
            let f: Vec<f64> = line.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
            let busy: f64 = f.iter().take(8).enumerate().filter(|(i, _)| *i != 3 && *i != 4).map(|(_, v)| v).sum();
            s.machine_cpu = busy / clock_ticks();
        }
    }
    if let Ok(status) = std::fs::read_to_string(format!("{dir}/status")) {
        for line in status.lines() {
            let kib = || line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0);
            if line.starts_with("VmRSS:") {
                s.rss_kib = kib();
            } else if line.starts_with("VmHWM:") {
                s.peak_kib = kib();
            }
        }
    }
    s
}

/// CPU share between two samples, in cores (1.0 = one core busy all the time).
pub fn cores(from: ProcSample, to: ProcSample) -> f64 {
    match (from.at, to.at) {
        (Some(a), Some(b)) if b > a => (to.cpu - from.cpu) / (b - a).as_secs_f64(),
        _ => 0.0,
    }
}

/// Cores busy with processes other than the server and this tool between two pairs of
/// samples (server, self).
pub fn other_cores(server: (ProcSample, ProcSample), me: (ProcSample, ProcSample)) -> f64 {
    let (a, b) = server;
    match (me.0.at, me.1.at) {
        (Some(x), Some(y)) if y > x => {
            let secs = (y - x).as_secs_f64();
            let all = (me.1.machine_cpu - me.0.machine_cpu) / secs;
            (all - cores(me.0, me.1) - if a.at.is_some() { cores(a, b) } else { 0.0 }).max(0.0)
        }
        _ => 0.0,
    }
}

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}
