//! Why a connection failed or closed, in words for the status line.

pub(super) fn close_words(
    frame: Option<&tokio_tungstenite::tungstenite::protocol::CloseFrame>,
) -> String {
    match frame {
        Some(f) if !f.reason.is_empty() => format!("the relay closed the connection: {}", f.reason),
        Some(f) => format!(
            "the relay closed the connection (code {})",
            u16::from(f.code)
        ),
        None => "the relay closed the connection".into(),
    }
}

pub(super) fn connect_error_words(url: &str, e: &tokio_tungstenite::tungstenite::Error) -> String {
    use tokio_tungstenite::tungstenite::Error;
    match e {
        Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            format!("nothing is listening at {url} (is the relay running?)")
        }
        Error::Io(io) => format!("cannot reach {url}: {io}"),
        Error::Url(u) => format!("{url} cannot be used: {u}"),
        Error::Http(response) => {
            format!("{url} is not a Snapwire relay (HTTP {})", response.status())
        }
        other => format!("cannot connect to {url}: {other}"),
    }
}
