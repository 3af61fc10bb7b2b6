//! The catalogues agree with each other and with the sources: the same
//! messages with the same `$variables` in every language, and every
//! `t!("key", var = ..)` in `src/` names a message and exactly its variables.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use fluent_syntax::ast;

use super::*;

/// Message id → the `$variables` it uses.
type Shape = BTreeMap<String, BTreeSet<String>>;

fn shape(source: &str) -> Shape {
    let resource = match fluent_syntax::parser::parse(source) {
        Ok(r) => r,
        Err((_, errors)) => panic!("catalogue does not parse: {errors:?}"),
    };
    let mut out = Shape::new();
    for entry in resource.body {
        match entry {
            ast::Entry::Message(m) => {
                let mut vars = BTreeSet::new();
                if let Some(value) = &m.value {
                    pattern_vars(value, &mut vars);
                }
                assert!(
                    m.attributes.is_empty(),
                    "{}: attributes are not used",
                    m.id.name
                );
                let dup = out.insert(m.id.name.to_owned(), vars);
                assert!(dup.is_none(), "{} twice", m.id.name);
            }
            ast::Entry::Term(t) => panic!("-{}: terms are not used", t.id.name),
            ast::Entry::Junk { content } => panic!("unreadable: {content}"),
            _ => {}
        }
    }
    out
}

fn pattern_vars(pattern: &ast::Pattern<&str>, vars: &mut BTreeSet<String>) {
    for element in &pattern.elements {
        if let ast::PatternElement::Placeable { expression } = element {
            expression_vars(expression, vars);
        }
    }
}

fn expression_vars(expression: &ast::Expression<&str>, vars: &mut BTreeSet<String>) {
    match expression {
        ast::Expression::Select { selector, variants } => {
            inline_vars(selector, vars);
            for v in variants {
                pattern_vars(&v.value, vars);
            }
        }
        ast::Expression::Inline(inline) => inline_vars(inline, vars),
    }
}

fn inline_vars(inline: &ast::InlineExpression<&str>, vars: &mut BTreeSet<String>) {
    match inline {
        ast::InlineExpression::VariableReference { id } => {
            vars.insert(id.name.to_owned());
        }
        ast::InlineExpression::Placeable { expression } => expression_vars(expression, vars),
        ast::InlineExpression::FunctionReference { arguments, .. } => {
            for a in &arguments.positional {
                inline_vars(a, vars);
            }
        }
        _ => {}
    }
}

#[test]
fn english_and_spanish_have_the_same_messages_and_variables() {
    let en = shape(EN_FTL);
    let es = shape(ES_FTL);
    let only_en: Vec<_> = en.keys().filter(|k| !es.contains_key(*k)).collect();
    let only_es: Vec<_> = es.keys().filter(|k| !en.contains_key(*k)).collect();
    assert!(only_en.is_empty(), "missing in es.ftl: {only_en:?}");
    assert!(only_es.is_empty(), "only in es.ftl: {only_es:?}");
    for (key, vars) in &en {
        assert_eq!(Some(vars), es.get(key), "{key}: variables differ");
    }
    assert!(en.len() > 100, "the whole app is in the catalogue");
}

#[test]
fn both_catalogues_load_without_errors() {
    for language in Language::ALL {
        let resource = FluentResource::try_new(language.catalogue().to_owned());
        assert!(resource.is_ok(), "{language}: syntax errors");
        let mut bundle = FluentBundle::new_concurrent(vec![]);
        assert!(
            bundle
                .add_resource(resource.unwrap_or_else(|(r, _)| r))
                .is_ok()
        );
    }
}

/// One `t!(..)` found in the sources.
#[derive(Debug)]
struct Use {
    file: String,
    key: String,
    vars: BTreeSet<String>,
}

/// Every `t!("key", a = .., b = ..)` in `src/` (but this module: its docs
/// and tests show made-up keys): its key and variable names.
fn uses_in_sources() -> Vec<Use> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect_rs(&src, &mut files);
    files.retain(|f| *f != src.join("i18n.rs") && !f.starts_with(src.join("i18n")));
    let mut uses = Vec::new();
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap_or_default();
        let name = file.display().to_string();
        let mut rest = source.as_str();
        while let Some(at) = rest.find("t!(") {
            // `t!(` inside a longer name (`assert!(`, `format!(`) is not ours.
            let before = rest[..at].chars().next_back();
            rest = &rest[at + 3..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let Some(body) = rest.trim_start().strip_prefix('"') else {
                // The macro's own definition and docs.
                continue;
            };
            let Some(end) = body.find('"') else { continue };
            let key = body[..end].to_owned();
            let vars = call_vars(&body[end + 1..]);
            uses.push(Use {
                file: name.clone(),
                key,
                vars,
            });
        }
    }
    uses
}

/// The `name = ` arguments of a call, up to its closing parenthesis.
fn call_vars(after_key: &str) -> BTreeSet<String> {
    let mut vars = BTreeSet::new();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut chars = after_key.char_indices().peekable();
    let mut expect_name = false;
    while let Some((i, c)) = chars.next() {
        if in_string {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' if depth == 0 => break,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => expect_name = true,
            c if expect_name && (c.is_alphabetic() || c == '_') => {
                expect_name = false;
                let tail = &after_key[i..];
                let len = tail
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(tail.len());
                let (name, after) = tail.split_at(len);
                let after = after.trim_start();
                if after.starts_with('=') && !after.starts_with("==") {
                    vars.insert(name.to_owned());
                }
            }
            c if !c.is_whitespace() => expect_name = false,
            _ => {}
        }
    }
    vars
}

/// Every message key the browser page names: `t("key"` in `web/*.js`,
/// `data-i18n…="key"` in `web/index.html`.
fn web_uses() -> Vec<(String, String)> {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(&web) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = path.display().to_string();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let marks: &[&str] = match path.extension().and_then(|e| e.to_str()) {
            Some("js") => &["t(\""],
            Some("html") => &[
                "data-i18n=\"",
                "data-i18n-label=\"",
                "data-i18n-title=\"",
                "data-i18n-placeholder=\"",
            ],
            _ => continue,
        };
        for mark in marks {
            for (at, _) in text.match_indices(mark) {
                let before = text[..at].chars().next_back();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
                    continue;
                }
                let rest = &text[at + mark.len()..];
                if let Some(end) = rest.find('"') {
                    out.push((name.clone(), rest[..end].to_owned()));
                }
            }
        }
    }
    out
}

fn collect_rs(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_key_the_sources_use_is_in_the_catalogue_with_its_variables() {
    let en = shape(EN_FTL);
    let uses = uses_in_sources();
    assert!(
        uses.len() > 100,
        "the scan finds the app's words: {}",
        uses.len()
    );
    let mut wrong = Vec::new();
    for u in &uses {
        match en.get(&u.key) {
            None => wrong.push(format!("{}: {} is not in en.ftl", u.file, u.key)),
            Some(vars) if *vars != u.vars => wrong.push(format!(
                "{}: {} takes {vars:?}, the source gives {:?}",
                u.file, u.key, u.vars
            )),
            Some(_) => {}
        }
    }
    // The browser page (web/) uses the same catalogue: `t("key", {..})` in
    // its modules, `data-i18n*="key"` in its HTML (keys only: its arguments
    // are JS objects, checked by web/test/i18n.test.js running the page's code).
    let web = web_uses();
    assert!(
        web.len() > 40,
        "the scan finds the page's words: {}",
        web.len()
    );
    for (file, key) in &web {
        if !en.contains_key(key) {
            wrong.push(format!("{file}: {key} is not in en.ftl"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // And nothing in the catalogue is left unused.
    let mut used: BTreeSet<&str> = uses.iter().map(|u| u.key.as_str()).collect();
    used.extend(web.iter().map(|(_, k)| k.as_str()));
    let unused: Vec<&String> = en.keys().filter(|k| !used.contains(k.as_str())).collect();
    assert!(unused.is_empty(), "in en.ftl but never used: {unused:?}");
}

#[test]
fn the_scanner_reads_keys_and_variable_names() {
    let vars = call_vars(r#", name = a.b(c, d), count = x.len(), s = "),", z = y == 2) rest"#);
    let names: Vec<&str> = vars.iter().map(String::as_str).collect();
    assert_eq!(names, ["count", "name", "s", "z"]);
    assert!(call_vars(")").is_empty());
}

#[test]
fn a_missing_message_falls_back_to_its_key_without_panicking() {
    assert_eq!(
        text_in(Language::Spanish, "no-such-message", &[]),
        "no-such-message"
    );
    assert!(!has_message(Language::Spanish, "no-such-message"));
}

#[test]
fn messages_take_their_variables_and_plurals_in_each_language() {
    let one = [("count", Arg::from(1usize))];
    let three = [("count", Arg::from(3usize))];
    assert_eq!(
        text_in(Language::English, "send-sheet-title", &one),
        "Send 1 image"
    );
    assert_eq!(
        text_in(Language::English, "send-sheet-title", &three),
        "Send 3 images"
    );
    assert_eq!(
        text_in(Language::Spanish, "send-sheet-title", &one),
        "Enviar 1 imagen"
    );
    assert_eq!(
        text_in(Language::Spanish, "send-sheet-title", &three),
        "Enviar 3 imágenes"
    );
    let why = [("why", Arg::from("x"))];
    assert_eq!(
        text_in(Language::Spanish, "bubble-not-sent", &why),
        "no enviado: x"
    );
}

#[test]
fn locales_as_systems_and_browsers_write_them() {
    for (locale, language) in [
        ("es", Some(Language::Spanish)),
        ("es_ES.UTF-8", Some(Language::Spanish)),
        ("es-MX", Some(Language::Spanish)),
        ("ES", Some(Language::Spanish)),
        ("en_US@euro", Some(Language::English)),
        ("en-GB", Some(Language::English)),
        ("fr_FR.UTF-8", None),
        ("C", None),
        ("POSIX", None),
        ("", None),
    ] {
        assert_eq!(Language::from_locale(locale), language, "{locale:?}");
    }
    let prefs = ["fr-FR", "es-AR", "en-US"].map(String::from);
    assert_eq!(first_known(prefs), Some(Language::Spanish));
    assert_eq!(first_known(["de".to_owned()]), None);
    assert_eq!("es".parse(), Ok(Language::Spanish));
    assert!("klingon".parse::<Language>().is_err());
}

#[test]
fn the_command_line_beats_the_setting_which_beats_the_system() {
    let es = Some(Language::Spanish);
    let en = Some(Language::English);
    assert_eq!(resolve(en, es), Language::English);
    assert_eq!(resolve(None, es), Language::Spanish);
    assert_eq!(resolve(es, None), Language::Spanish);
}
