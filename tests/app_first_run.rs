//! First run: the name is filled in from the system user (and stays
//! editable), so "Host a room" needs no typing; a remembered name wins.

mod support;

use egui_kittest::kittest::Queryable;
use snapwire::cli::Launch;
use snapwire::settings::{self, Paths, Settings};
use support::ui::{has_text, setup};

#[test]
fn first_run_suggests_the_system_user_and_hosting_needs_no_typing() {
    let mut s = setup(Launch::ConnectView, |app| {
        app.suggest_name(Some("Ana Pérez".into()))
    });
    s.harness.run_steps(2);
    let field = s
        .harness
        .get_by_role_and_label(egui::accesskit::Role::TextInput, "Your name");
    assert_eq!(field.value().as_deref(), Some("Ana Pérez"));
    let identity = s.harness.state_mut().form.check_identity();
    assert_eq!(identity, Some(("Ana Pérez".into(), "lobby".into())));
    assert!(!has_text(&s.harness, "Enter a name others will see"));

    // Editable: typing replaces it like any text.
    s.harness.state_mut().form.fields.name.clear();
    s.harness
        .get_by_role_and_label(egui::accesskit::Role::TextInput, "Your name")
        .focus();
    s.harness.run_steps(1);
    s.harness
        .get_by_role_and_label(egui::accesskit::Role::TextInput, "Your name")
        .type_text("Ani");
    s.harness.run_steps(2);
    assert_eq!(s.harness.state().form.fields.name, "Ani");
}

#[test]
fn a_remembered_name_is_not_replaced_and_no_user_leaves_it_empty() {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = Paths::in_dir(dir.path());
    let saved = Settings {
        name: "Ben".into(),
        ..Settings::default()
    };
    settings::save(&paths.settings_file, &saved).expect("save");
    let mut app = snapwire::SnapwireApp::new(snapwire::AppOptions {
        paths,
        launch: Launch::ConnectView,
        picker: std::sync::Arc::new(support::ui::FakePicker(None)),
        connector: support::ui::fake_connector(Default::default(), Default::default()),
    });
    app.suggest_name(Some("root".into()));
    assert_eq!(app.form.fields.name, "Ben");

    let mut s = setup(Launch::ConnectView, |app| app.suggest_name(None));
    s.harness.run_steps(1);
    assert_eq!(s.harness.state().form.fields.name, "");
    assert!(s.harness.state_mut().form.check_identity().is_none());
}
