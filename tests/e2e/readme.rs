//! The README's main command, run exactly as written there: read from `README.md` at test time,
//! `cargo run --release -p teamsapp-cli --` replaced by the `teamsapp` binary this build made,
//! run in an empty directory; it must exit 0 and report every target upgraded and verified.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use teamsapp_e2e::teamsapp_command;

/// What the README's command starts with, replaced by the built binary.
const CARGO_RUN: &str = "cargo run --release -p teamsapp-cli --";

/// The shell commands of the README's fenced `sh`/`bash`/`console`/unlabelled blocks, with line
/// continuations joined, prompts and comment lines removed.
fn fenced_commands(markdown: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut in_block = false;
    let mut shell = false;
    let mut pending = String::new();
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            if in_block {
                in_block = false;
            } else {
                in_block = true;
                let lang = info.trim();
                shell = matches!(lang, "" | "sh" | "bash" | "shell" | "console");
            }
            continue;
        }
        if !in_block || !shell {
            continue;
        }
        let line = trimmed.strip_prefix("$ ").unwrap_or(trimmed);
        if pending.is_empty() && (line.starts_with('#') || line.is_empty()) {
            continue;
        }
        if let Some(continued) = line.strip_suffix('\\') {
            pending.push_str(continued);
            pending.push(' ');
            continue;
        }
        pending.push_str(line);
        commands.push(std::mem::take(&mut pending));
    }
    commands
}

/// Splits a command line as a POSIX shell would for the plain words, quotes and backslashes a
/// README uses; a word starting with `#` ends the command.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => {
                            if let Some(next) = chars.next() {
                                word.push(next);
                            }
                        }
                        _ => word.push(q),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(next) = chars.next() {
                    word.push(next);
                }
            }
            '#' if !in_word => break,
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// The words of the README's command that runs the main job.
fn main_command(readme: &str) -> Vec<String> {
    let commands = fenced_commands(readme);
    let found: Vec<Vec<String>> = commands
        .iter()
        .map(|c| shell_words(c))
        .filter(|words| words.join(" ").contains("--emulator fleet upgrade"))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "README.md should have exactly one fenced command with `--emulator fleet upgrade`, the \
         main job (issue 6); its commands: {commands:#?}"
    );
    found[0].clone()
}

#[test]
fn the_parsers_read_a_readme_like_ours() {
    let readme = "text\n```sh\n# a comment\ncargo run --release -p teamsapp-cli -- --emulator \\\n  fleet upgrade --app \"Contoso Tasks\" --yes  # upgrades\n```\n```text\n--emulator fleet upgrade (output)\n```\n";
    assert_eq!(
        main_command(readme),
        [
            "cargo",
            "run",
            "--release",
            "-p",
            "teamsapp-cli",
            "--",
            "--emulator",
            "fleet",
            "upgrade",
            "--app",
            "Contoso Tasks",
            "--yes"
        ]
    );
    assert_eq!(
        shell_words(r#"a 'b c' "d \"e\"" f\ g"#),
        ["a", "b c", "d \"e\"", "f g"]
    );
}

#[tokio::test]
async fn the_readme_main_command_upgrades_and_verifies_every_target() {
    let readme_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(&readme_path).expect("README.md");
    let command = main_command(&readme);
    let cargo_run = shell_words(CARGO_RUN);
    let args = command
        .strip_prefix(cargo_run.as_slice())
        .unwrap_or_else(|| {
            panic!("the README's main command no longer starts with `{CARGO_RUN}`: {command:?}")
        })
        .to_vec();

    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    // Output to files, not pipes: a full pipe cannot stall the run.
    let stdout_path = dir.path().join("stdout");
    let stderr_path = dir.path().join("stderr");
    let mut process = teamsapp_command(dir.path());
    process
        .args(&args)
        .current_dir(&work)
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap());
    let status = tokio::task::spawn_blocking(move || {
        let child = process.spawn().expect("runs teamsapp");
        wait_with_deadline(child, Duration::from_mins(1))
    })
    .await
    .unwrap();
    let out = std::process::Output {
        status,
        stdout: std::fs::read(&stdout_path).unwrap(),
        stderr: std::fs::read(&stderr_path).unwrap(),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "`teamsapp {}` failed\nstdout: {stdout}\nstderr: {stderr}",
        args.join(" ")
    );

    // Off a terminal the report is JSON, one record per target; with `-o table` it is the
    // summary table. Either way: every target upgraded and verified, none failed.
    if let Ok(Value::Array(rows)) = serde_json::from_str::<Value>(&stdout) {
        assert_eq!(rows.len(), 40, "the demo has 40 targets behind: {stdout}");
        assert!(
            rows.iter().all(|r| r["result"] == "verified"),
            "not every target was verified: {stdout}"
        );
    } else {
        let count = |name: &str| {
            stdout
                .lines()
                .find(|l| l.contains(name))
                .and_then(|l| l.split_whitespace().find_map(|w| w.parse::<u64>().ok()))
        };
        assert_eq!(count("upgraded and verified"), Some(40), "{stdout}");
        assert_eq!(count("failed"), Some(0), "{stdout}");
        assert_eq!(count("not started"), Some(0), "{stdout}");
    }
    let journals: Vec<_> = std::fs::read_dir(&work)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("teamsapp-fleet-")
        })
        .collect();
    assert_eq!(journals.len(), 1, "one journal in the working directory");
}

/// Waits for `child` to exit, killing it after `deadline`.
fn wait_with_deadline(
    mut child: std::process::Child,
    deadline: Duration,
) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status,
            Ok(None) if started.elapsed() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the README's command did not finish within {deadline:?}");
            }
        }
    }
}
