//! The language menu (in the connect view and the status line): follow the
//! system's language, or always English, or always Spanish.

use crate::i18n::{self, Language};
use crate::intent::Intent;
use crate::t;

/// `setting`: the saved choice (`None` follows the system). `compact` (the
/// status line) shows only the language in use, not "System (…)". Returns
/// the person's new choice, if they made one.
pub fn menu(ui: &mut egui::Ui, setting: Option<Language>, compact: bool) -> Option<Intent> {
    let system = t!(
        "language-system",
        language = i18n::system_language().native_name()
    );
    let shown = match setting {
        None if compact => i18n::language().native_name().to_owned(),
        None => system.clone(),
        Some(language) => language.native_name().to_owned(),
    };
    let mut choice = None;
    egui::ComboBox::from_id_salt("language-menu")
        .selected_text(shown)
        .show_ui(ui, |ui| {
            if ui.selectable_label(setting.is_none(), system).clicked() {
                choice = Some(None);
            }
            for language in Language::ALL {
                let label = language.native_name();
                if ui
                    .selectable_label(setting == Some(language), label)
                    .clicked()
                {
                    choice = Some(Some(language));
                }
            }
        })
        .response
        .on_hover_text(t!("language-hint"));
    choice.filter(|c| *c != setting).map(Intent::Language)
}
