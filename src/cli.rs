//! Command-line flags: connect at once, or host, skipping the connect view.

use std::net::SocketAddr;

use clap::Parser;

use crate::settings::{self, Settings, Target};

/// Share pictures with everyone on your network: a chat-style room for images.
///
/// Without flags the connect view opens. With --server (and a name, given or
/// remembered) it connects at once; with --host it starts a relay on this
/// computer and joins it.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "snapwire",
    version,
    after_help = "Settings and the client id live in the platform's config and data \
                  directories; set SNAPWIRE_HOME=DIR to keep them in DIR instead \
                  (two windows with two homes act as two people)."
)]
pub struct Cli {
    /// Relay to join: host, host:port or a ws:// URL (default port 7600).
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// Your display name (1-32 characters); defaults to the one used last time.
    #[arg(long)]
    pub name: Option<String>,
    /// Room to join (letters, digits, '.', '_', '-'); default "lobby".
    #[arg(long)]
    pub room: Option<String>,
    /// Access token, if the relay requires one.
    #[arg(long, value_name = "T")]
    pub token: Option<String>,
    /// Host a room on this computer and join it; others type an address shown in the app.
    #[arg(long, conflicts_with = "server")]
    pub host: bool,
    /// Address the hosted relay listens on.
    #[arg(long, value_name = "ADDR", requires = "host", default_value_t = crate::host::DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// The app's language (en or es); without it, the one chosen in the app,
    /// else the system's. This help stays in English.
    #[arg(long, env = "SNAPWIRE_LANG", value_name = "LANG")]
    pub lang: Option<crate::i18n::Language>,
    /// Neither look for relays on the network nor announce a hosted room (mDNS).
    #[arg(long)]
    pub no_discovery: bool,
    /// Send the FILEs without asking first.
    #[arg(long, short = 'y', requires = "files")]
    pub yes: bool,
    /// Images to send to the room (PNG, JPEG, GIF, WebP, BMP), after one confirmation.
    #[arg(value_name = "FILE")]
    pub files: Vec<std::path::PathBuf>,
}

/// What to do at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launch {
    /// Show the connect view, filled from settings.
    ConnectView,
    Connect(Target),
    Host {
        listen: SocketAddr,
        name: String,
        room: String,
    },
}

impl Cli {
    /// Combines the flags with the remembered settings; an error is a sentence for stderr.
    pub fn launch(&self, saved: &Settings) -> Result<Launch, String> {
        let name = self.name.clone().unwrap_or_else(|| saved.name.clone());
        let room = self.room.clone().unwrap_or_else(|| saved.room.clone());
        if self.host {
            let name = settings::check_name(&name).map_err(|e| format!("--name: {e}"))?;
            let room = settings::check_room(&room).map_err(|e| format!("--room: {e}"))?;
            return Ok(Launch::Host {
                listen: self.listen,
                name,
                room,
            });
        }
        let Some(server) = &self.server else {
            if self.name.is_some() || self.room.is_some() || self.token.is_some() {
                return Err("--name, --room and --token go with --server or --host".into());
            }
            return Ok(Launch::ConnectView);
        };
        let form = Settings {
            server: server.clone(),
            name,
            room,
            token: self.token.clone().unwrap_or_default(),
            ..saved.clone()
        };
        settings::validate_form(&form)
            .map(Launch::Connect)
            .map_err(|errors| {
                [
                    errors.server.map(|e| format!("--server: {e}")),
                    errors.name.map(|e| format!("--name: {e}")),
                    errors.room.map(|e| format!("--room: {e}")),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("\n")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("snapwire").chain(args.iter().copied()))
    }

    #[test]
    fn lang_takes_en_or_es() {
        let cli = parse(&["--lang", "es"]).expect("es");
        assert_eq!(cli.lang, Some(crate::i18n::Language::Spanish));
        assert!(parse(&["--lang", "klingon"]).is_err());
    }

    #[test]
    fn server_flags_connect_at_once() {
        let cli = parse(&[
            "--server", "10.0.0.2", "--name", "Ana", "--room", "r1", "--token", "t",
        ])
        .expect("parse");
        let Ok(Launch::Connect(t)) = cli.launch(&Settings::default()) else {
            panic!("expected connect");
        };
        assert_eq!(t.url, "ws://10.0.0.2:7600/ws");
        assert_eq!((t.name.as_str(), t.room.as_str()), ("Ana", "r1"));
        assert_eq!(t.token.as_deref(), Some("t"));
    }

    #[test]
    fn name_falls_back_to_settings_and_errors_are_words() {
        let cli = parse(&["--server", "h"]).expect("parse");
        let err = cli.launch(&Settings::default()).expect_err("no name");
        assert!(err.contains("--name"), "{err}");
        let saved = Settings {
            name: "Ben".into(),
            ..Settings::default()
        };
        assert!(matches!(cli.launch(&saved), Ok(Launch::Connect(t)) if t.name == "Ben"));
    }

    #[test]
    fn files_and_yes() {
        let cli =
            parse(&["--server", "h", "--name", "Ana", "a.png", "dir/b c.jpg"]).expect("parse");
        assert_eq!(
            cli.files,
            [
                std::path::PathBuf::from("a.png"),
                std::path::PathBuf::from("dir/b c.jpg")
            ]
        );
        assert!(!cli.yes && !cli.no_discovery);
        assert!(matches!(
            cli.launch(&Settings::default()),
            Ok(Launch::Connect(_))
        ));
        let cli = parse(&["--yes", "--no-discovery", "x.png"]).expect("parse");
        assert!(cli.yes && cli.no_discovery);
        assert_eq!(cli.launch(&Settings::default()), Ok(Launch::ConnectView));
        assert!(parse(&["--yes"]).is_err(), "--yes needs files");
    }

    #[test]
    fn host_and_plain_start() {
        let cli = parse(&["--host", "--name", "Ana"]).expect("parse");
        assert!(matches!(
            cli.launch(&Settings::default()),
            Ok(Launch::Host { .. })
        ));
        assert!(parse(&["--host", "--server", "h"]).is_err());
        assert_eq!(
            parse(&[]).expect("parse").launch(&Settings::default()),
            Ok(Launch::ConnectView)
        );
        assert!(
            parse(&["--help"]).is_err(),
            "--help exits through clap's error path"
        );
    }
}
