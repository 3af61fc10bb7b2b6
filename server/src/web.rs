//! The relay's own web client for browsers (phones above all), served at `GET /`.
//!
//! The page's files live in `web/` at the top of the repository and are
//! embedded in the binary at compile time, so `cargo run` and `cargo test`
//! need no build tool and the relay serves nothing from anywhere else. Every
//! response carries the security headers: a Content-Security-Policy that
//! allows only the relay's own origin (no inline script; pictures also from
//! `blob:` URLs the page makes from verified bytes), `nosniff` and
//! `Referrer-Policy: no-referrer`.

use std::sync::LazyLock;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, HeaderMap, HeaderValue,
    IF_NONE_MATCH, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use hyper::{Response, StatusCode};
use sha2::{Digest, Sha256};

/// Only this origin, for everything; `blob:` pictures; no plugins, no framing,
/// no `<base>` tricks. `'self'` covers the page's `ws://` to its own host and port.
pub const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' blob:; connect-src 'self'; worker-src 'self'; \
     manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// One embedded file of the page.
#[derive(Debug)]
pub struct Asset {
    /// Its path under `/`, as the page asks for it.
    pub path: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

/// The desktop app's catalogues of words, which the page uses too (`web/i18n.js`).
macro_rules! catalogue {
    ($lang:literal) => {
        Asset {
            path: concat!("/i18n/", $lang, ".ftl"),
            content_type: "text/plain; charset=utf-8",
            bytes: include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../assets/i18n/",
                $lang,
                ".ftl"
            )),
        }
    };
}

macro_rules! asset {
    ($file:literal, $type:literal) => {
        Asset {
            path: concat!("/", $file),
            content_type: $type,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../web/", $file)),
        }
    };
}

#[cfg(test)]
const JS: &str = "text/javascript; charset=utf-8";

/// Every file the page loads. A test checks this list against `web/`.
pub static ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("main.js", "text/javascript; charset=utf-8"),
    asset!("view.js", "text/javascript; charset=utf-8"),
    asset!("state.js", "text/javascript; charset=utf-8"),
    asset!("session.js", "text/javascript; charset=utf-8"),
    asset!("protocol.js", "text/javascript; charset=utf-8"),
    asset!("media.js", "text/javascript; charset=utf-8"),
    asset!("strip.js", "text/javascript; charset=utf-8"),
    asset!("sha256.js", "text/javascript; charset=utf-8"),
    asset!("hasher.js", "text/javascript; charset=utf-8"),
    asset!("hash_worker.js", "text/javascript; charset=utf-8"),
    asset!("settings.js", "text/javascript; charset=utf-8"),
    asset!("i18n.js", "text/javascript; charset=utf-8"),
    catalogue!("en"),
    catalogue!("es"),
    asset!("manifest.webmanifest", "application/manifest+json"),
    asset!("icon-192.png", "image/png"),
    asset!("icon-512.png", "image/png"),
];

/// Strong validators, so a phone that reloads gets `304 Not Modified`.
static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| format!("\"{}\"", hex::encode(&Sha256::digest(a.bytes)[..8])))
        .collect()
});

/// The embedded file for a request path (`/` is the page itself).
pub fn find(path: &str) -> Option<(usize, &'static Asset)> {
    let path = if path == "/" { "/index.html" } else { path };
    ASSETS.iter().enumerate().find(|(_, a)| a.path == path)
}

/// The response for `path`, or `None` when it is not one of the page's files.
/// `request` supplies `If-None-Match`.
pub fn response(path: &str, request: &HeaderMap) -> Option<Response<Full<Bytes>>> {
    let (index, asset) = find(path)?;
    let etag = &ETAGS[index];
    let fresh = request
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut response = if fresh {
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        Response::new(Full::new(Bytes::from_static(asset.bytes)))
    };
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    // Check with the relay on every load: a new relay version serves new files.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(ETAG, value);
    }
    security_headers(headers);
    Some(response)
}

/// The headers every page response carries.
pub fn security_headers(headers: &mut HeaderMap) {
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web_dir() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web")
    }

    #[test]
    fn every_file_of_the_page_is_embedded_and_nothing_else() {
        let mut on_disk: Vec<String> = std::fs::read_dir(web_dir())
            .expect("web/ exists")
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| format!("/{}", e.file_name().to_string_lossy()))
            // Tooling files of web/ that the page does not load.
            .filter(|p| !matches!(p.as_str(), "/package.json" | "/README.md"))
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = ASSETS
            .iter()
            .map(|a| a.path.to_owned())
            .filter(|p| !p.starts_with("/i18n/"))
            .collect();
        embedded.sort();
        assert_eq!(embedded, on_disk);
    }

    #[test]
    fn every_catalogue_of_words_is_served() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/i18n");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .expect("assets/i18n exists")
            .filter_map(Result::ok)
            .map(|e| format!("/i18n/{}", e.file_name().to_string_lossy()))
            .collect();
        on_disk.sort();
        let mut served: Vec<String> = ASSETS
            .iter()
            .map(|a| a.path.to_owned())
            .filter(|p| p.starts_with("/i18n/"))
            .collect();
        served.sort();
        assert_eq!(served, on_disk);
    }

    #[test]
    fn every_module_import_is_an_embedded_file() {
        for asset in ASSETS.iter().filter(|a| a.content_type == JS) {
            let text = std::str::from_utf8(asset.bytes).expect("utf-8");
            for line in text.lines() {
                let line = line.trim();
                let Some(at) = line.find("from \"./") else {
                    continue;
                };
                let rest = &line[at + "from \"./".len()..];
                let name = &rest[..rest.find('"').expect("closing quote")];
                assert!(
                    find(&format!("/{name}")).is_some(),
                    "{} imports {name}, which is not embedded",
                    asset.path
                );
            }
        }
    }

    #[test]
    fn the_page_loads_nothing_from_another_origin_and_has_no_inline_script() {
        for asset in ASSETS
            .iter()
            .filter(|a| !a.content_type.starts_with("image/"))
        {
            let text = std::str::from_utf8(asset.bytes).expect("utf-8");
            for needle in [
                "http://",
                "https://",
                "//cdn",
                "innerHTML",
                "outerHTML",
                "eval(",
                "insertAdjacentHTML",
                "document.write",
            ] {
                assert!(!text.contains(needle), "{} contains {needle:?}", asset.path);
            }
        }
        let index = std::str::from_utf8(find("/").expect("index").1.bytes).expect("utf-8");
        for (at, _) in index.match_indices("<script") {
            let tag = &index[at..at + index[at..].find('>').expect("tag end")];
            assert!(tag.contains("src=\"/"), "inline script: {tag}");
        }
        assert!(
            !index.contains("style=\""),
            "inline style attributes break the CSP"
        );
        assert!(!index.contains("<style"), "inline styles break the CSP");
    }

    #[test]
    fn a_matching_etag_gets_304_and_others_the_file() {
        let mut request = HeaderMap::new();
        let full = response("/", &request).expect("index");
        assert_eq!(full.status(), StatusCode::OK);
        let etag = full.headers().get(ETAG).expect("etag").clone();
        request.insert(IF_NONE_MATCH, etag);
        let again = response("/", &request).expect("index");
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(
            again
                .headers()
                .get(CONTENT_SECURITY_POLICY)
                .map(HeaderValue::as_bytes),
            Some(CONTENT_SECURITY_POLICY_VALUE.as_bytes())
        );
        assert!(response("/nope.js", &request).is_none());
        assert!(response("/../Cargo.toml", &request).is_none());
    }
}
