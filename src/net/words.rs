//! Why a connection failed or closed, in words for the status line.

use crate::t;

pub(super) fn close_words(
    frame: Option<&tokio_tungstenite::tungstenite::protocol::CloseFrame>,
) -> String {
    match frame {
        Some(f) if !f.reason.is_empty() => {
            t!("net-closed-because", reason = f.reason.as_str())
        }
        Some(f) => t!("net-closed-code", code = u16::from(f.code)),
        None => t!("net-closed"),
    }
}

pub(super) fn connect_error_words(url: &str, e: &tokio_tungstenite::tungstenite::Error) -> String {
    use tokio_tungstenite::tungstenite::Error;
    match e {
        Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            t!("net-nothing-listening", url = url)
        }
        Error::Io(io) => t!("net-cannot-reach", url = url, error = io.to_string()),
        Error::Url(u) => t!("net-bad-url", url = url, error = u.to_string()),
        Error::Http(response) => t!(
            "net-not-a-relay",
            url = url,
            status = response.status().to_string()
        ),
        other => t!("net-cannot-connect", url = url, error = other.to_string()),
    }
}
