//! Hosting a room on this computer, as the app sees it: start the in-process
//! relay ([`Hosted`]) on a thread of its own (binding and opening its data
//! take a moment), announce the room on the LAN once it runs (unless it only
//! listens on loopback, or announcing is off), and stop both on "Stop hosting"
//! without waiting on the UI thread.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::mpsc;

use snapwire_relay::discovery::Advertiser;

use crate::host::Hosted;
use crate::repaint::Repaint;
use crate::settings::Target;

/// The relay this app runs, while it runs.
#[derive(Default)]
pub struct Hosting {
    pub hosted: Option<Hosted>,
    /// Announce a hosted room on the LAN (the binary turns it on unless `--no-discovery`).
    pub advertise: bool,
    starting: Option<Starting>,
    advertiser: Option<Advertiser>,
}

struct Starting {
    result: mpsc::Receiver<anyhow::Result<Hosted>>,
    name: String,
    room: String,
}

impl Hosting {
    /// True while the relay is starting (the form's buttons wait).
    pub fn starting(&self) -> bool {
        self.starting.is_some()
    }

    /// Starts the relay off the UI thread; [`Hosting::poll`] says when it runs.
    pub fn start(
        &mut self,
        listen: SocketAddr,
        dir: PathBuf,
        name: String,
        room: String,
        repaint: Repaint,
    ) -> anyhow::Result<()> {
        let (tx, rx) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("snapwire-host-start".into())
            .spawn(move || {
                let _ = tx.send(Hosted::start(listen, dir));
                repaint();
            })?;
        self.starting = Some(Starting {
            result: rx,
            name,
            room,
        });
        Ok(())
    }

    /// Once the relay runs: the target to connect to (over loopback), or why it could not start.
    pub fn poll(&mut self) -> Option<anyhow::Result<Target>> {
        let starting = self.starting.as_ref()?;
        let result = match starting.result.try_recv() {
            Ok(result) => result,
            Err(mpsc::TryRecvError::Empty) => return None,
            Err(mpsc::TryRecvError::Disconnected) => {
                Err(anyhow::anyhow!(crate::t!("host-thread-ended")))
            }
        };
        let Starting { name, room, .. } = self.starting.take()?;
        Some(result.map(|hosted| {
            if self.advertise && !hosted.bound.ip().is_loopback() {
                let instance = crate::discovery::instance_for(&name, &room);
                match crate::discovery::advertise(&instance, hosted.port) {
                    Ok(advertiser) => self.advertiser = Some(advertiser),
                    Err(e) => tracing::warn!(error = %e, "cannot announce the room"),
                }
            }
            let target = Target {
                url: hosted.local_url.clone(),
                name,
                room,
                token: None,
            };
            self.hosted = Some(hosted);
            target
        }))
    }

    /// True from "Host" until "Stop hosting".
    pub fn active(&self) -> bool {
        self.hosted.is_some() || self.starting.is_some()
    }

    /// "Stop hosting": others lose the room with it. Stopping waits for
    /// connections to close, so it runs on a thread of its own.
    pub fn stop_in_background(&mut self) {
        self.advertiser = None;
        if let Some(hosted) = self.hosted.take() {
            let _ = std::thread::Builder::new()
                .name("snapwire-host-stop".into())
                .spawn(move || hosted.stop());
        }
    }

    /// The window is closing: stop now.
    pub fn stop(&mut self) {
        self.advertiser = None;
        if let Some(hosted) = self.hosted.take() {
            hosted.stop();
        }
    }
}
