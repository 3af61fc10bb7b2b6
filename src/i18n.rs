//! Every word the app shows, in English and Spanish, from the Project Fluent
//! catalogues `assets/i18n/en.ftl` and `assets/i18n/es.ftl` (built into the
//! binary). [`t!`](crate::t) looks a message up in the current language:
//! `t!("status-connecting")`, `t!("bubble-not-sent", why = reason)`.
//!
//! The current language is one value for the whole process, because sentences
//! are also made on the network and media threads (errors, outcomes) and must
//! come out in the language the window shows. It is English until
//! [`set_language`] is called: `main` sets it from `--lang`, the setting or the
//! system locale ([`resolve`]); the library alone (and so every test that does
//! not ask for another) stays English.
//!
//! A message missing from a catalogue never panics: it falls back to English,
//! then to the key itself; the tests below catch any such key before it ships.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

/// The English catalogue, the reference every other one must match.
pub const EN_FTL: &str = include_str!("../assets/i18n/en.ftl");
pub const ES_FTL: &str = include_str!("../assets/i18n/es.ftl");

/// A language the app speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    English,
    Spanish,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::English, Language::Spanish];

    /// The BCP 47 tag, also how the setting is stored.
    pub fn tag(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::Spanish => "es",
        }
    }

    /// The language's name in itself, for the language menu.
    pub fn native_name(self) -> &'static str {
        match self {
            Language::English => "English",
            Language::Spanish => "Español",
        }
    }

    /// The language of a locale name as the system or a browser writes it
    /// (`es`, `es-MX`, `es_ES.UTF-8`, `en_US@euro`); `None` for any other
    /// language and for `C`/`POSIX`.
    pub fn from_locale(locale: &str) -> Option<Language> {
        let primary = locale
            .split(['-', '_', '.', '@'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Language::English),
            "es" => Some(Language::Spanish),
            _ => None,
        }
    }

    fn catalogue(self) -> &'static str {
        match self {
            Language::English => EN_FTL,
            Language::Spanish => ES_FTL,
        }
    }

    fn index(self) -> u8 {
        match self {
            Language::English => 0,
            Language::Spanish => 1,
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

impl FromStr for Language {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Language::from_locale(s.trim()).ok_or_else(|| format!("{s:?}: use en or es"))
    }
}

/// The first of the system's preferred languages that the app speaks
/// (`LANGUAGE`, `LC_ALL`, `LC_MESSAGES`, `LANG` on Linux); English otherwise.
pub fn system_language() -> Language {
    first_known(sys_locale::get_locales()).unwrap_or(Language::English)
}

fn first_known(locales: impl IntoIterator<Item = String>) -> Option<Language> {
    locales
        .into_iter()
        .find_map(|locale| Language::from_locale(&locale))
}

/// The language to show: the command line's (`--lang`, `SNAPWIRE_LANG`),
/// else the saved setting, else the system's.
pub fn resolve(flag: Option<Language>, setting: Option<Language>) -> Language {
    flag.or(setting).unwrap_or_else(system_language)
}

static CURRENT: AtomicU8 = AtomicU8::new(0);

/// Switches every word shown from now on (the next frame redraws in it).
pub fn set_language(language: Language) {
    CURRENT.store(language.index(), Ordering::Relaxed);
}

pub fn language() -> Language {
    match CURRENT.load(Ordering::Relaxed) {
        1 => Language::Spanish,
        _ => Language::English,
    }
}

/// A value for a message's `$variable`: words, or a number (which also picks
/// the plural form).
#[derive(Debug, Clone)]
pub enum Arg {
    Text(String),
    Number(f64),
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Text(s.to_owned())
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Text(s)
    }
}

impl From<&String> for Arg {
    fn from(s: &String) -> Self {
        Arg::Text(s.clone())
    }
}

macro_rules! number_arg {
    ($($t:ty),*) => {$(
        impl From<$t> for Arg {
            fn from(n: $t) -> Self {
                Arg::Number(n as f64)
            }
        }
    )*};
}
number_arg!(u8, u16, u32, u64, usize, i32, i64, f32, f64);

/// The message `key` in the current language, `$variables` filled from `args`.
pub fn text(key: &str, args: &[(&str, Arg)]) -> String {
    text_in(language(), key, args)
}

/// The message `key` in `language`; English if that catalogue lacks it, the
/// key itself if no catalogue has it.
pub fn text_in(language: Language, key: &str, args: &[(&str, Arg)]) -> String {
    let bundles = bundles();
    let fluent_args = (!args.is_empty()).then(|| {
        let mut fa = FluentArgs::new();
        for (name, value) in args {
            match value {
                Arg::Text(s) => fa.set(*name, FluentValue::from(s.as_str())),
                Arg::Number(n) => fa.set(*name, FluentValue::from(*n)),
            }
        }
        fa
    });
    for bundle in [
        &bundles[usize::from(language.index())],
        &bundles[usize::from(Language::English.index())],
    ] {
        if let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) {
            let mut errors = Vec::new();
            let words = bundle.format_pattern(pattern, fluent_args.as_ref(), &mut errors);
            if !errors.is_empty() {
                tracing::debug!(key, ?errors, "message formatted with errors");
            }
            return words.into_owned();
        }
    }
    tracing::debug!(key, "no such message in any catalogue");
    key.to_owned()
}

/// Whether `language`'s own catalogue has `key` (no fallback).
pub fn has_message(language: Language, key: &str) -> bool {
    bundles()[usize::from(language.index())].has_message(key)
}

type Bundle = FluentBundle<FluentResource>;

fn bundles() -> &'static [Bundle; 2] {
    static BUNDLES: OnceLock<[Bundle; 2]> = OnceLock::new();
    BUNDLES.get_or_init(|| Language::ALL.map(load))
}

/// A catalogue with a syntax error still loads every message it could read
/// (the tests refuse any error, so this only matters for a broken build).
fn load(language: Language) -> Bundle {
    let resource = FluentResource::try_new(language.catalogue().to_owned()).unwrap_or_else(
        |(resource, errors)| {
            tracing::warn!(%language, ?errors, "catalogue has syntax errors");
            resource
        },
    );
    let tag = unic_langid::LanguageIdentifier::from_str(language.tag()).unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![tag]);
    // No invisible Unicode isolation marks around `$variables`: the text is
    // left-to-right, the marks would reach copied text and tests' comparisons.
    bundle.set_use_isolating(false);
    if let Err(errors) = bundle.add_resource(resource) {
        tracing::warn!(%language, ?errors, "catalogue has duplicate messages");
    }
    bundle
}

/// Looks a message up in the current language: `t!("key")`, or with its
/// variables `t!("key", name = value, count = n)`. Keys are literals so the
/// tests can find every one in the sources.
#[macro_export]
macro_rules! t {
    ($key:literal) => {
        $crate::i18n::text($key, &[])
    };
    ($key:literal, $($name:ident = $value:expr),+ $(,)?) => {
        $crate::i18n::text(
            $key,
            &[$((stringify!($name), $crate::i18n::Arg::from($value))),+],
        )
    };
}

#[cfg(test)]
mod tests;
