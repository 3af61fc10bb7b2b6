//! The app speaks Spanish and English: the connect view and a room's
//! timeline as a person sees them in each language, and the language menu
//! switching and remembering the choice.
//!
//! The language is one value for the whole process (sentences are also made
//! on worker threads), so every test here holds [`LANGUAGE`] while it runs
//! and puts English back when done; the other test binaries never change it
//! and so always see English, whatever the machine's `LANG`.

mod support;

use std::sync::{Mutex, MutexGuard};

use egui_kittest::kittest::Queryable;
use snapwire::cli::Launch;
use snapwire::i18n::{self, Language};
use snapwire::settings::{self, Paths};
use snapwire::state::Event;
use support::ui::{
    App, connected_launch, has_text, labels, next_command, room_setup, setup, step_until,
};
use support::welcome_as;

static LANGUAGE: Mutex<()> = Mutex::new(());

/// Holds the process's language for one test; English again when dropped.
struct Speaking(#[allow(dead_code)] MutexGuard<'static, ()>);

impl Speaking {
    fn new(language: Language) -> Self {
        // A test that failed while holding it leaves nothing to repair.
        let guard = LANGUAGE.lock().unwrap_or_else(|e| e.into_inner());
        i18n::set_language(language);
        Speaking(guard)
    }
}

impl Drop for Speaking {
    fn drop(&mut self) {
        i18n::set_language(Language::English);
    }
}

fn assert_shows(h: &App, texts: &[&str]) {
    for text in texts {
        assert!(
            has_text(h, text),
            "{text:?} is not on screen; it shows {:?}",
            labels(h, "")
        );
    }
}

fn assert_hides(h: &App, texts: &[&str]) {
    for text in texts {
        assert!(
            !has_text(h, text),
            "{text:?} is on screen: {:?}",
            labels(h, text)
        );
    }
}

const CONNECT_ES: [&str; 7] = [
    "Comparte fotos con todos los de tu red.",
    "Dirección del relé",
    "Tu nombre",
    "Sala",
    "Conectar",
    "¿Aún no hay relé?",
    "Abrir una sala en este ordenador",
];
const CONNECT_EN: [&str; 7] = [
    "Share pictures with everyone on your network.",
    "Relay address",
    "Your name",
    "Room",
    "Connect",
    "No relay yet?",
    "Host a room on this computer",
];

#[test]
fn the_connect_view_in_spanish_says_everything_in_spanish() {
    let _es = Speaking::new(Language::Spanish);
    let mut s = setup(Launch::ConnectView, |_| {});
    s.harness.run_steps(2);
    assert_shows(&s.harness, &CONNECT_ES);
    assert_hides(&s.harness, &CONNECT_EN);

    // The form's rules answer in Spanish too.
    s.harness.get_by_label("Conectar").click();
    s.harness.run_steps(2);
    assert_shows(
        &s.harness,
        &[
            "Escribe la dirección del relé, como 192.168.1.20 o relay.local:7600",
            "Escribe un nombre que verán los demás",
        ],
    );
}

#[test]
fn the_connect_view_in_english_says_everything_in_english() {
    let _en = Speaking::new(Language::English);
    let mut s = setup(Launch::ConnectView, |_| {});
    s.harness.run_steps(2);
    assert_shows(&s.harness, &CONNECT_EN);
    assert_hides(&s.harness, &CONNECT_ES);
    s.harness.get_by_label("Connect").click();
    s.harness.run_steps(2);
    assert_shows(&s.harness, &["Enter a name others will see"]);
}

/// A room with Ben's text and picture and our own text, acked.
fn busy_room() -> support::ui::Setup {
    let mut s = room_setup();
    step_until(&mut s.harness, "the room", |h| {
        has_text(h, "lobby") && has_text(h, "Ben")
    });
    s.text_from_ben(1, "hola");
    s.image_from_ben(2, "gato.png", support::pattern_png(64, 48, 3));
    s.harness.state_mut().composer.text = "qué tal".into();
    s.harness.run_steps(1);
    let id = egui::Id::unique(snapwire::ui::composer::TEXT_BOX_ID);
    s.harness.ctx.memory_mut(|m| m.request_focus(id));
    s.harness.run_steps(1);
    s.harness.key_press(egui::Key::Enter);
    let mut sent = None;
    step_until(&mut s.harness, "our text handed to the connection", |_| {
        if let Some(snapwire::net::Command::SendText { id, .. }) = next_command(&s.net) {
            sent = Some(id);
        }
        sent.is_some()
    });
    s.emit(Event::Ack {
        id: sent.unwrap_or_default(),
        seq: 3,
        ts: 1_764_100_000_003,
    });
    step_until(&mut s.harness, "Ben's picture decoded", |h| {
        h.state().textures.uploaded() >= 1
    });
    s
}

#[test]
fn the_timeline_in_spanish_says_everything_in_spanish() {
    let _es = Speaking::new(Language::Spanish);
    let mut s = busy_room();
    step_until(&mut s.harness, "the Spanish room", |h| {
        has_text(h, "Conectado a lobby")
    });
    assert_shows(
        &s.harness,
        &[
            "Conectado a lobby · 2 conectados: Ana (tú), Ben",
            "Salir",
            "Avisos",
            "Conversación",
            "Galería (1)",
            "Enviar imágenes…",
            "Enviar",
            "✔ enviado",
            "gato.png",
        ],
    );
    assert_hides(
        &s.harness,
        &[
            "Connected to",
            "Leave",
            "Notify",
            "Timeline",
            "Gallery",
            "Send images…",
            "sent",
        ],
    );
    // The gallery too.
    s.harness.get_by_label("Galería (1)").click();
    step_until(&mut s.harness, "the Spanish gallery", |h| {
        has_text(h, "1 imagen") && has_text(h, "Seleccionar todo")
    });
}

#[test]
fn the_timeline_in_english_says_everything_in_english() {
    let _en = Speaking::new(Language::English);
    let mut s = busy_room();
    step_until(&mut s.harness, "the English room", |h| {
        has_text(h, "Connected to lobby")
    });
    assert_shows(
        &s.harness,
        &[
            "Connected to lobby · 2 online: Ana (you), Ben",
            "Leave",
            "Notify",
            "Timeline",
            "Gallery (1)",
            "Send images…",
            "✔ sent",
        ],
    );
    assert_hides(
        &s.harness,
        &["Conectado", "Salir", "Avisos", "Galería", "enviado"],
    );
}

#[test]
fn the_language_menu_switches_at_once_and_is_remembered() {
    let _en = Speaking::new(Language::English);
    let mut s = setup(Launch::ConnectView, |_| {});
    s.harness.run_steps(2);
    assert_shows(&s.harness, &["Relay address"]);
    s.harness
        .get_by_role(egui::accesskit::Role::ComboBox)
        .click();
    s.harness.run_steps(2);
    s.harness.get_by_label("Español").click();
    s.harness.run_steps(3);
    assert_shows(&s.harness, &["Dirección del relé"]);
    let settings_file = Paths::in_dir(s.dir.path()).settings_file;
    assert_eq!(
        settings::load(&settings_file).language(),
        Some(Language::Spanish)
    );

    // A new window (the next start) opens in the remembered language:
    // main resolves it from the setting, as here.
    assert_eq!(
        i18n::resolve(None, settings::load(&settings_file).language()),
        Language::Spanish
    );

    // And back to English in the room's status line.
    drop(s);
    let mut room = setup(connected_launch(), |app| {
        app.form.fields.set_language(Some(Language::Spanish));
    });
    support::ui::emit(&room.net, welcome_as("Ana", "aaaaaaaaaaaa"));
    step_until(&mut room.harness, "the Spanish status line", |h| {
        has_text(h, "Conectado a lobby")
    });
    room.harness
        .get_by_role(egui::accesskit::Role::ComboBox)
        .click();
    room.harness.run_steps(2);
    room.harness.get_by_label("English").click();
    step_until(&mut room.harness, "the English status line", |h| {
        has_text(h, "Connected to lobby")
    });
    assert_eq!(
        room.harness.state().form.fields.language(),
        Some(Language::English)
    );
}
