//! The `cloudcomp-app` binary as a child process for the process-level tests, started the
//! way an init system or a container runtime starts it: under a soft open-files limit of 1,024.

#![allow(dead_code)] // each test crate uses its own subset

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The `API-Key` that `POST /update` needs on the test servers.
pub const API_KEY: &str = "reliability-api-key";

/// The soft open-files limit the app starts under: the common default.
pub const DEFAULT_SOFT_OPEN_FILES: u64 = 1024;

/// A running app and everything it printed so far; killed when dropped.
pub struct App {
    pub child: Child,
    pub base: String,
    output: Arc<Mutex<String>>,
}

impl App {
    /// Starts the app on an ephemeral loopback port over the SQLite file `db`, with extra
    /// `CLOUDCOMP_*` variables, and waits until it says where it listens.
    pub fn start(db: &Path, env: &[(&str, &str)]) -> Self {
        Self::spawn(Self::command(db, env))
    }

    /// The command [`App::start`] runs, to adjust before [`App::spawn`] or to run to its end.
    pub fn command(db: &Path, env: &[(&str, &str)]) -> Command {
        let script = format!("ulimit -Sn {DEFAULT_SOFT_OPEN_FILES} && exec \"$0\"");
        let mut command = Command::new("sh");
        command
            .args(["-c", &script, env!("CARGO_BIN_EXE_cloudcomp-app")])
            .env("CLOUDCOMP_LISTEN", "127.0.0.1:0")
            .env("CLOUDCOMP_DB_PATH", db)
            .env("CLOUDCOMP_API_KEY", API_KEY)
            .env("CLOUDCOMP_JWT_SECRET", "reliability-jwt-secret-0123456789")
            .envs(env.iter().copied());
        command
    }

    /// Starts `command` and waits until the app says where it listens.
    pub fn spawn(mut command: Command) -> Self {
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("starting cloudcomp-app");
        let output = Arc::new(Mutex::new(String::new()));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let streams: [Box<dyn Read + Send>; 2] =
            [Box::new(child.stdout.take().unwrap()), Box::new(child.stderr.take().unwrap())];
        for stream in streams {
            let (output, addr_tx) = (output.clone(), addr_tx.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Some(rest) = line.split("listen=").nth(1) {
                        let _ = addr_tx.send(rest.split_whitespace().next().unwrap_or_default().to_string());
                    }
                    output.lock().unwrap().push_str(&(line + "\n"));
                }
            });
        }
        let Ok(addr) = addr_rx.recv_timeout(Duration::from_secs(60)) else {
            panic!("the app never said where it listens:\n{}", output.lock().unwrap());
        };
        App { child, base: format!("http://{addr}"), output }
    }

    /// Sends `signal` (`-TERM`, `-KILL`) to the app.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill").args([signal, &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }

    /// Waits up to 5 s for the app to exit.
    pub fn wait(&mut self) -> std::process::ExitStatus {
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the app did not exit within 5 s");
    }

    /// Everything the app printed so far.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// The last few thousand characters the app printed, for failure messages.
    pub fn output_tail(&self) -> String {
        let output = self.output.lock().unwrap();
        let start = output.floor_char_boundary(output.len().saturating_sub(4000));
        output[start..].to_string()
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
