//! What the app remembers between runs (relay address, name, room, token, and
//! the client secret) and the rules of the connect form.
//!
//! Settings live in the platform's config directory as `settings.json`; the
//! secret lives in the data directory as `client-secret` (readable by the owner
//! only on Unix). `SNAPWIRE_HOME` puts both in one directory instead, which is
//! how two windows on one computer act as two people.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use snapwire_relay::protocol::validate;

use crate::t;

/// The relay's default port.
pub const DEFAULT_PORT: u16 = 7600;

/// The connect form as typed, saved as it was last used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub server: String,
    pub name: String,
    pub room: String,
    pub token: String,
    /// Send pictures with their EXIF/XMP (location, camera); off by default.
    pub keep_metadata: bool,
    /// Desktop notifications while the window is in the background; on by default.
    pub notifications: bool,
    /// The language chosen in the app ("en", "es"); empty follows the system.
    pub language: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            server: String::new(),
            name: String::new(),
            room: validate::DEFAULT_ROOM.to_owned(),
            token: String::new(),
            keep_metadata: false,
            notifications: true,
            language: String::new(),
        }
    }
}

impl Settings {
    /// The language chosen in the app; `None` follows the system (also for
    /// a value this version does not know).
    pub fn language(&self) -> Option<crate::i18n::Language> {
        crate::i18n::Language::from_locale(&self.language)
    }

    pub fn set_language(&mut self, language: Option<crate::i18n::Language>) {
        self.language = language.map(|l| l.tag().to_owned()).unwrap_or_default();
    }
}

/// Where this app keeps its files.
#[derive(Debug, Clone)]
pub struct Paths {
    pub settings_file: PathBuf,
    pub secret_file: PathBuf,
    /// The hosted relay keeps its rooms below this.
    pub relay_dir: PathBuf,
    /// Items waiting to be sent, kept across runs (see [`crate::outbox`]).
    pub outbox_dir: PathBuf,
    /// A later launch hands its files to this window through this socket.
    pub instance_socket: PathBuf,
}

impl Paths {
    /// Everything in one directory (tests, `SNAPWIRE_HOME`).
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            settings_file: dir.join("settings.json"),
            secret_file: dir.join("client-secret"),
            relay_dir: dir.join("relay"),
            outbox_dir: dir.join("outbox"),
            instance_socket: dir.join("snapwire.sock"),
        }
    }

    /// `SNAPWIRE_HOME` if set, else the platform's config and data directories.
    pub fn from_env() -> Option<Self> {
        if let Some(home) = std::env::var_os("SNAPWIRE_HOME") {
            return Some(Self::in_dir(Path::new(&home)));
        }
        let dirs = directories::ProjectDirs::from("", "", "snapwire")?;
        Some(Self {
            settings_file: dirs.config_dir().join("settings.json"),
            secret_file: dirs.data_dir().join("client-secret"),
            relay_dir: dirs.data_dir().join("relay"),
            outbox_dir: dirs.data_dir().join("outbox"),
            instance_socket: dirs
                .runtime_dir()
                .unwrap_or_else(|| dirs.data_dir())
                .join("snapwire.sock"),
        })
    }
}

/// Reads the settings; a missing or unreadable file gives the defaults (and a log line).
pub fn load(path: &Path) -> Settings {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!(path = %path.display(), error = %e, "settings unreadable, using defaults");
            Settings::default()
        }),
        Err(_) => Settings::default(),
    }
}

/// Writes the settings atomically (a temporary file renamed over the old one).
pub fn save(path: &Path, settings: &Settings) -> anyhow::Result<()> {
    let json = serde_json::to_vec_pretty(settings).context("serializing settings")?;
    write_atomic(path, &json)
}

fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().context("settings path has no directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = path.with_extension("tmp");
    {
        let mut file = open_private(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))
}

#[cfg(unix)]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::create(path)
}

/// The client secret kept across runs: read it, or make and store a new one.
pub fn load_or_create_secret(path: &Path) -> anyhow::Result<String> {
    if let Ok(text) = std::fs::read_to_string(path) {
        let text = text.trim();
        if validate::client_secret(text).is_ok() {
            return Ok(text.to_owned());
        }
        tracing::warn!(path = %path.display(), "client secret unreadable, making a new one");
    }
    let secret = random_hex16()?;
    write_atomic(path, secret.as_bytes())?;
    Ok(secret)
}

/// 128 random bits as 32 lowercase hex digits (secrets and item ids).
pub fn random_hex16() -> anyhow::Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(hex::encode(bytes))
}

/// A checked form: everything needed to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `ws://host:port/ws`.
    pub url: String,
    pub name: String,
    pub room: String,
    pub token: Option<String>,
}

/// One message per field that is wrong.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormErrors {
    pub server: Option<String>,
    pub name: Option<String>,
    pub room: Option<String>,
}

impl FormErrors {
    pub fn is_empty(&self) -> bool {
        self.server.is_none() && self.name.is_none() && self.room.is_none()
    }
}

/// Checks the whole form.
pub fn validate_form(form: &Settings) -> Result<Target, FormErrors> {
    let mut errors = FormErrors::default();
    let url = parse_server(&form.server).map_err(|e| errors.server = Some(e));
    let name = check_name(&form.name).map_err(|e| errors.name = Some(e));
    let room = check_room(&form.room).map_err(|e| errors.room = Some(e));
    match (url, name, room) {
        (Ok(url), Ok(name), Ok(room)) => Ok(Target {
            url,
            name,
            room,
            token: Some(form.token.trim().to_owned()).filter(|t| !t.is_empty()),
        }),
        _ => Err(errors),
    }
}

pub fn check_name(raw: &str) -> Result<String, String> {
    validate::display_name(raw).map_err(|_| {
        let chars = raw.trim().chars().count();
        if chars == 0 {
            t!("form-name-empty")
        } else if chars > validate::MAX_NAME_CHARS {
            t!(
                "form-name-too-long",
                max = validate::MAX_NAME_CHARS,
                chars = chars
            )
        } else {
            t!("form-name-control")
        }
    })
}

pub fn check_room(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(validate::DEFAULT_ROOM.to_owned());
    }
    // The relay's rules; the words say which one, in the app's language.
    validate::room_name(raw).map_err(|_| {
        if raw.len() > validate::MAX_ROOM_CHARS {
            t!("form-room-length", max = validate::MAX_ROOM_CHARS)
        } else if raw.starts_with('.') {
            t!("form-room-dot")
        } else {
            t!("form-room-chars")
        }
    })
}

/// Turns what a person typed into a WebSocket URL: `host`, `host:port`,
/// `[v6]:port`, or a `ws://` URL (`http://` is taken to mean the same). The
/// port defaults to 7600, the path to `/ws`. `wss://` is refused with words:
/// the relay speaks plain WebSocket and this build carries no TLS client.
pub fn parse_server(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(t!("form-server-empty"));
    }
    if raw.chars().any(char::is_whitespace) {
        return Err(t!("form-server-spaces"));
    }
    let (scheme, rest) = match raw.split_once("://") {
        Some((s, rest)) => match s.to_ascii_lowercase().as_str() {
            "ws" | "http" => ("ws", rest),
            // The relay serves plain WebSocket, and this build has no TLS client.
            "wss" | "https" => {
                return Err(t!("form-server-tls"));
            }
            other => return Err(t!("form-server-scheme", scheme = other)),
        },
        None => ("ws", raw),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let path = if path.is_empty() || path == "/" {
        "/ws"
    } else {
        path
    };
    let (host, port) = split_host_port(authority)?;
    Ok(format!("{scheme}://{host}:{port}{path}"))
}

fn split_host_port(authority: &str) -> Result<(String, u16), String> {
    let bad_port = |p: &str| t!("form-server-port", port = format!("{p:?}"));
    let parse_port = |p: &str| match p.parse::<u16>() {
        Ok(0) | Err(_) => Err(bad_port(p)),
        Ok(port) => Ok(port),
    };
    if let Some(v6) = authority.strip_prefix('[') {
        let (addr, after) = v6
            .split_once(']')
            .ok_or_else(|| t!("form-server-v6-bracket"))?;
        if addr.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(t!("form-server-not-v6", address = format!("{addr:?}")));
        }
        let port = match after.strip_prefix(':') {
            Some(p) => parse_port(p)?,
            None if after.is_empty() => DEFAULT_PORT,
            None => return Err(t!("form-server-after-v6")),
        };
        return Ok((format!("[{addr}]"), port));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, p)) => (host, parse_port(p)?),
        None => (authority, DEFAULT_PORT),
    };
    if host.is_empty() {
        return Err(t!("form-server-no-host"));
    }
    if host.contains(':') {
        return Err(t!("form-server-v6-brackets"));
    }
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_';
    if !host.chars().all(ok) || host.starts_with('-') || host.starts_with('.') {
        return Err(t!("form-server-bad-host", host = format!("{host:?}")));
    }
    Ok((host.to_ascii_lowercase(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_forms() {
        let ok = [
            ("192.168.1.20", "ws://192.168.1.20:7600/ws"),
            ("relay.local:7700", "ws://relay.local:7700/ws"),
            ("ws://h:1/ws", "ws://h:1/ws"),
            ("ws://Example.org", "ws://example.org:7600/ws"),
            ("http://h/", "ws://h:7600/ws"),
            ("[::1]:9", "ws://[::1]:9/ws"),
            ("[::1]", "ws://[::1]:7600/ws"),
            ("  h  ", "ws://h:7600/ws"),
            ("ws://h:5/custom/path", "ws://h:5/custom/path"),
        ];
        for (typed, url) in ok {
            assert_eq!(parse_server(typed).as_deref(), Ok(url), "{typed}");
        }
        for bad in [
            "", "wss://h", "h:0", "h:70000", "h:x", "ftp://h", "a b", "::1", "[::1", "[zz]:1",
            ":7600", "-h",
        ] {
            assert!(parse_server(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn form_reports_every_bad_field() {
        let form = Settings {
            server: String::new(),
            name: "   ".into(),
            room: ".x".into(),
            token: String::new(),
            ..Settings::default()
        };
        let errors = validate_form(&form).expect_err("bad form");
        assert!(errors.server.is_some() && errors.name.is_some() && errors.room.is_some());
        let good = Settings {
            server: "h".into(),
            name: " Ana ".into(),
            room: String::new(),
            token: " t ".into(),
            ..Settings::default()
        };
        let target = validate_form(&good).expect("good form");
        assert_eq!(target.name, "Ana");
        assert_eq!(target.room, "lobby");
        assert_eq!(target.token.as_deref(), Some("t"));
    }

    #[test]
    fn settings_and_secret_persist() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = Paths::in_dir(dir.path());
        assert_eq!(load(&paths.settings_file), Settings::default());
        let s = Settings {
            server: "h:1".into(),
            name: "Ana".into(),
            room: "r".into(),
            token: "t".into(),
            keep_metadata: true,
            notifications: false,
            language: "es".into(),
        };
        save(&paths.settings_file, &s).expect("save");
        assert_eq!(load(&paths.settings_file), s);
        assert_eq!(s.language(), Some(crate::i18n::Language::Spanish));
        // A language this version does not know follows the system.
        let unknown = Settings {
            language: "tlh".into(),
            ..Settings::default()
        };
        assert_eq!(unknown.language(), None);
        let secret = load_or_create_secret(&paths.secret_file).expect("secret");
        assert!(validate::client_secret(&secret).is_ok());
        assert_eq!(
            load_or_create_secret(&paths.secret_file).expect("again"),
            secret
        );
        std::fs::write(&paths.settings_file, b"{not json").expect("write");
        assert_eq!(load(&paths.settings_file), Settings::default());
    }
}
