//! The eframe app. `logic` drains every worker (it runs even while the window
//! is hidden); `ui` calls the views, each of which returns what the person
//! asked for; [`SnapwireApp::dispatch`] is the one place an
//! [`Intent`] becomes work. The room itself lives in [`RoomSession`],
//! hosting in [`Hosting`], saving and copying in [`Keeper`], image work on
//! the [`MediaWorker`]. Nothing here blocks: files, dialogs, hashing,
//! decoding and the hosted relay's start all happen on other threads.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock, mpsc};

use snapwire_relay::protocol::validate;

use crate::attention::Attention;
use crate::cli::Launch;
use crate::discovery::{Discovery, FoundList, SourceMaker};
use crate::hosting::Hosting;
use crate::i18n;
use crate::intent::Intent;
use crate::keep::{self, Keeper};
use crate::media::{self, Done, MediaWorker, SendOptions, Source, TexKey};
use crate::notify::{self, Notifier};
use crate::picker::{self, FilePicker};
use crate::repaint::Repaint;
use crate::session::RoomSession;
use crate::settings::{self, Paths, Target};
use crate::single_instance::Handoff;
use crate::state::{ConnState, EntryKey};
use crate::t;
use crate::textures::TextureCache;
use crate::ui::{self, composer::Composer, connect::ConnectForm, gallery::GalleryState};
use crate::ui::{send_sheet::SendSheet, timeline::TimelineState, viewer::Viewer};

pub use crate::spill::MEMORY_BUDGET;

pub use crate::options::{AppOptions, Connector};

pub enum View {
    Connect,
    Room,
}

pub struct SnapwireApp {
    pub paths: Paths,
    pub secret: String,
    pub view: View,
    pub form: ConnectForm,
    /// Relays seen on the LAN (empty while discovery is off).
    pub found: FoundList,
    pub room: RoomSession,
    pub timeline: TimelineState,
    pub composer: Composer,
    pub textures: TextureCache,
    pub media: MediaWorker,
    pub viewer: Option<Viewer>,
    pub gallery: GalleryState,
    /// The room shows the gallery instead of the timeline.
    pub show_gallery: bool,
    /// Saving and copying.
    pub keep: Keeper,
    pub hosting: Hosting,
    /// Files waiting for "Send" on the send sheet.
    pub sheet: Option<SendSheet>,
    /// Images from others that arrived while the window was unfocused.
    pub attention: Attention,
    /// Shows desktop notifications (silent unless set; tests put a fake here).
    pub notifier: Arc<dyn Notifier>,
    viewer_generation: u64,
    connector: Connector,
    picker: Arc<dyn FilePicker>,
    pick: Option<mpsc::Receiver<Option<Vec<PathBuf>>>>,
    /// Files later launches handed to this window.
    handoffs: Option<mpsc::Receiver<Handoff>>,
    /// Looking for relays on the LAN (off unless [`SnapwireApp::start_discovery`] was called).
    discovery: Option<Discovery>,
    ctx: Arc<OnceLock<egui::Context>>,
    repaint: Repaint,
    title: String,
}

impl SnapwireApp {
    pub fn new(options: AppOptions) -> Self {
        let ctx: Arc<OnceLock<egui::Context>> = Arc::new(OnceLock::new());
        let repaint = crate::repaint::of_context(Arc::clone(&ctx));
        let saved = settings::load(&options.paths.settings_file);
        let secret =
            settings::load_or_create_secret(&options.paths.secret_file).unwrap_or_else(|e| {
                // Without a place to keep it we still work; the id just changes next run.
                tracing::warn!(error = %e, "cannot keep the client secret; using one for this run");
                settings::random_hex16().unwrap_or_else(|_| "0".repeat(32))
            });
        let mut app = Self {
            room: RoomSession::new(validate::user_id(&secret)),
            paths: options.paths,
            secret,
            view: View::Connect,
            form: ConnectForm::new(saved),
            found: FoundList::default(),
            timeline: TimelineState::default(),
            composer: Composer::default(),
            textures: TextureCache::default(),
            media: MediaWorker::spawn(Arc::clone(&repaint)),
            viewer: None,
            gallery: GalleryState::default(),
            show_gallery: false,
            keep: Keeper::default(),
            hosting: Hosting::default(),
            sheet: None,
            attention: Attention::default(),
            notifier: Arc::new(notify::Silent),
            viewer_generation: 0,
            connector: options.connector,
            picker: options.picker,
            pick: None,
            handoffs: None,
            discovery: None,
            ctx,
            repaint,
            title: String::new(),
        };
        app.room
            .keep_outbox(app.paths.outbox_dir.clone(), Arc::clone(&app.repaint));
        match options.launch {
            Launch::ConnectView => {}
            Launch::Connect(target) => app.connect(target),
            Launch::Host { listen, name, room } => app.start_hosting(listen, name, room),
        }
        app
    }

    /// First run: fills an empty name with `name` (the system user's, from
    /// [`crate::identity`]), so "Host a room" works with one click. A name
    /// typed or remembered stays.
    pub fn suggest_name(&mut self, name: Option<String>) {
        if self.form.fields.name.trim().is_empty()
            && let Some(name) = name
        {
            self.form.fields.name = name;
        }
    }

    /// Takes the files later launches hand over ("Open with" while this
    /// window runs): they go where [`SnapwireApp::open_files`] puts them.
    pub fn accept_handoffs(&mut self, handoffs: mpsc::Receiver<Handoff>) {
        self.handoffs = Some(handoffs);
    }

    /// Lists relays from `source` in the connect view, live, until the app ends.
    pub fn start_discovery(&mut self, source: SourceMaker) {
        self.discovery = Some(Discovery::spawn(source, Arc::clone(&self.repaint)));
    }

    /// The window title as last set ("(3) Snapwire — room" while images wait unseen).
    pub fn window_title(&self) -> &str {
        &self.title
    }

    /// The images of the room that can be viewed and saved, oldest first.
    pub fn viewable_keys(&self) -> Vec<EntryKey> {
        let entries = &self.room.model.entries;
        entries
            .iter()
            .filter(|e| media::entry_data(e).is_some())
            .map(|e| e.key)
            .collect()
    }

    /// Files from "Open with Snapwire": the send sheet once the room shows, or
    /// straight away with `yes` (`--yes`).
    pub fn open_files(&mut self, paths: Vec<PathBuf>, yes: bool) {
        self.room.open_later(paths, yes);
    }

    /// Shows the send sheet for `paths` (added to what it already lists).
    pub fn open_sheet(&mut self, paths: Vec<PathBuf>) {
        let mut all = self.sheet.take().map(|s| s.paths()).unwrap_or_default();
        all.extend(paths);
        self.sheet = Some(SendSheet::open(all, Arc::clone(&self.repaint)));
    }

    /// Starts talking to a relay and shows the room.
    pub fn connect(&mut self, target: Target) {
        self.room.stop();
        self.timeline = TimelineState::default();
        self.textures = TextureCache::default();
        // A new room: nothing of the old one stays open (its keys mean nothing now).
        self.viewer = None;
        self.gallery = GalleryState::default();
        self.show_gallery = false;
        match (self.connector)(
            target.clone(),
            self.secret.clone(),
            Arc::clone(&self.repaint),
        ) {
            Ok(net) => {
                self.form.remember(&target, self.hosting.active());
                self.room.start(&self.secret, target, net);
                self.view = View::Room;
            }
            Err(e) => {
                self.form.host_error = Some(t!("app-connection-failed", error = format!("{e:#}")));
                self.view = View::Connect;
            }
        }
    }

    /// Starts the relay off the UI thread; the room opens once it runs.
    pub fn start_hosting(&mut self, listen: std::net::SocketAddr, name: String, room: String) {
        let dir = self.paths.relay_dir.clone();
        let repaint = Arc::clone(&self.repaint);
        match self.hosting.start(listen, dir, name, room, repaint) {
            Ok(()) => self.form.host_error = None,
            Err(e) => {
                self.form.host_error = Some(t!("app-hosting-failed", error = e.to_string()));
            }
        }
    }

    /// Stops everything; the window is closing.
    pub fn shutdown(&mut self) {
        self.room.close_outbox();
        self.room.stop();
        self.discovery = None;
        self.hosting.stop();
    }

    fn save_settings(&self) {
        if let Err(e) = settings::save(&self.paths.settings_file, &self.form.fields) {
            tracing::warn!(error = %e, "could not save settings");
        }
    }

    /// Originals, with metadata removed unless the setting keeps it.
    fn send_options(&self, smaller: bool) -> SendOptions {
        SendOptions {
            strip_metadata: !self.form.fields.keep_metadata,
            smaller,
        }
    }

    fn send_source(&mut self, name: &str, source: Source, options: SendOptions) {
        match self.room.send_source(name, source, options) {
            Ok(()) => self.timeline.scroll_to_bottom = true,
            Err(hint) => self.composer.hint = Some(hint),
        }
        self.room.flush(&self.media);
    }

    fn send_files(&mut self, paths: Vec<PathBuf>, options: SendOptions) {
        for path in paths {
            let name = path
                .file_name()
                .map_or_else(|| "image".to_owned(), |n| n.to_string_lossy().into_owned());
            self.send_source(&name, Source::File(path), options);
        }
    }

    fn items(&self, keys: &[EntryKey]) -> Vec<crate::export::Item> {
        keys.iter()
            .filter_map(|k| keep::item(self.room.model.entry(*k)?))
            .collect()
    }

    fn open_viewer(&mut self, key: EntryKey) {
        self.viewer_generation += 1;
        self.viewer = Some(Viewer::new(key, self.viewer_generation));
    }

    /// The one place a person's request becomes work.
    pub fn dispatch(&mut self, intent: Intent) {
        match intent {
            Intent::Connect => {
                if let Some(target) = self.form.check() {
                    self.save_settings();
                    self.connect(target);
                }
            }
            Intent::Host => {
                if let Some((name, room)) = self.form.check_identity() {
                    self.save_settings();
                    self.start_hosting(crate::host::DEFAULT_LISTEN, name, room);
                }
            }
            Intent::JoinFound(relay) => {
                if self.form.take_found(&relay) {
                    self.dispatch(Intent::Connect);
                }
            }
            Intent::Leave => {
                self.room.stop();
                // Others lose the room with it.
                self.hosting.stop_in_background();
                self.view = View::Connect;
            }
            Intent::DismissError => self.room.model.last_error = None,
            Intent::PickFiles => {
                if self.pick.is_none() {
                    self.composer.hint = None;
                    let repaint = Arc::clone(&self.repaint);
                    self.pick = Some(picker::spawn_pick(self.picker.as_ref(), repaint));
                }
            }
            Intent::SendText(text) => match self.room.send_text(&text) {
                Ok(()) => {
                    self.composer.text.clear();
                    self.composer.hint = None;
                    self.timeline.scroll_to_bottom = true;
                }
                Err(hint) => self.composer.hint = Some(hint),
            },
            Intent::OfferFiles(paths) => self.open_sheet(paths),
            Intent::SendPasted(image) => {
                let options = self.send_options(false);
                self.send_source("pasted image.png", Source::Pasted(image), options);
            }
            Intent::SendSheet => {
                if let Some(sheet) = self.sheet.take() {
                    self.save_settings();
                    let options = self.send_options(sheet.smaller);
                    self.send_files(sheet.paths(), options);
                }
            }
            Intent::CloseSheet => self.sheet = None,
            Intent::Cancel(id) => {
                if let Err(e) = self.room.cancel(&id) {
                    self.composer.hint = Some(t!("app-cancel-failed", error = e.to_string()));
                }
            }
            Intent::Open(key) => self.open_viewer(key),
            // Dropping the viewer frees its texture.
            Intent::CloseViewer => self.viewer = None,
            Intent::Save(key) => {
                if let Some(item) = self.items(&[key]).pop() {
                    self.keep.save_one(item, Arc::clone(&self.repaint));
                }
            }
            Intent::SaveMany(keys) => {
                let items = self.items(&keys);
                self.keep.save_many(items, Arc::clone(&self.repaint));
            }
            Intent::StopSaving => self.keep.stop_saving(),
            Intent::CopyImage(key) => {
                if let Some(item) = self.items(&[key]).pop() {
                    let job = self.keep.copy_image(item);
                    self.room.queue(job);
                    self.room.flush(&self.media);
                }
            }
            Intent::CopyText(text) => {
                let job = self.keep.copy_text(text);
                self.room.queue(job);
                self.room.flush(&self.media);
            }
            Intent::DismissNotice => self.keep.notice = None,
            Intent::ShowGallery(on) => self.show_gallery = on,
            Intent::Notifications(on) => {
                self.form.fields.notifications = on;
                self.save_settings();
            }
            Intent::Language(choice) => {
                self.form.fields.set_language(choice);
                self.save_settings();
                i18n::set_language(choice.unwrap_or_else(i18n::system_language));
            }
        }
    }

    fn dispatch_all(&mut self, intents: Vec<Intent>) {
        for intent in intents {
            self.dispatch(intent);
        }
    }

    /// Drains every worker; runs each frame, also while the window is hidden.
    pub fn logic(&mut self, ctx: &egui::Context) {
        let _ = self.ctx.set(ctx.clone());
        self.textures.set_time(ctx.input(|i| i.time));
        if let Some(discovery) = &self.discovery {
            discovery.drain(&mut self.found);
        }
        match self.hosting.poll() {
            Some(Ok(target)) => self.connect(target),
            Some(Err(e)) => {
                self.view = View::Connect;
                self.form.host_error = Some(t!("app-host-failed", error = format!("{e:#}")));
            }
            None => {}
        }
        if let Some(rx) = &self.pick
            && let Ok(answer) = rx.try_recv()
        {
            self.pick = None;
            match answer {
                Some(paths) if !paths.is_empty() => self.open_sheet(paths),
                _ => self.composer.hint = Some(picker::nothing_picked()),
            }
        }

        let handed: Vec<Handoff> = self
            .handoffs
            .as_ref()
            .map(|rx| rx.try_iter().collect())
            .unwrap_or_default();
        for handoff in handed {
            self.open_files(handoff.files, handoff.yes);
            // The person just asked for this window.
            ctx.send_viewport_cmd(egui::ViewportCommand::Minimized(false));
            ctx.send_viewport_cmd(egui::ViewportCommand::Focus);
        }

        let drained = self.room.drain();
        self.notify(ctx, &drained.arrived, &drained.texts);
        for key in drained.arrived {
            self.attention.image_arrived(key);
        }
        for key in drained.gone {
            self.textures.forget(TexKey::Full(key));
            self.textures.forget(TexKey::Preview(key));
        }
        if drained.more {
            ctx.request_repaint();
        }
        while let Some(done) = self.media.try_recv() {
            self.media_done(ctx, done);
        }
        if matches!(self.view, View::Room)
            && let Some((paths, yes)) = self.room.take_pending_open()
        {
            if yes {
                let options = self.send_options(false);
                self.send_files(paths, options);
            } else {
                self.open_sheet(paths);
            }
        }
        self.request_full(ctx);
        if self.keep.poll() {
            // The progress bar moves without other events.
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
        self.room.flush(&self.media);
        self.update_title(ctx);
        // The status line counts down "reconnecting in N s".
        if matches!(self.room.model.conn, ConnState::Reconnecting { .. }) {
            ctx.request_repaint_after(std::time::Duration::from_millis(500));
        }
    }

    /// Desktop notes for what others sent, only while the window is in the
    /// background and the "Notify" switch is on.
    fn notify(&self, ctx: &egui::Context, images: &[EntryKey], texts: &[EntryKey]) {
        let focused = ctx.input(|i| i.viewport().focused.unwrap_or(true));
        if focused || !self.form.fields.notifications || (images.is_empty() && texts.is_empty()) {
            return;
        }
        let mut keys: Vec<EntryKey> = images.iter().chain(texts).copied().collect();
        keys.sort_unstable();
        let notes = notify::notes_for(&self.room.model, &keys);
        for note in notify::batch(notes) {
            self.notifier.notify(note);
        }
    }

    fn media_done(&mut self, ctx: &egui::Context, done: Done) {
        match done {
            Done::Prepared {
                id,
                result,
                metadata,
            } => self.room.prepared(id, result, metadata),
            Done::Decoded { key, result } => self.textures.finish(ctx, key, result),
            Done::Full {
                generation,
                key,
                result,
            } => {
                if let Some(viewer) = self.viewer.as_mut() {
                    viewer.take_full(ctx, generation, key, result);
                }
            }
            Done::Spilled { key, result } => self.room.spilled(key, result),
            Done::Copied(result) => self.keep.copied(result),
        }
    }

    /// The open viewer's full-resolution decode, asked for once per image.
    fn request_full(&mut self, ctx: &egui::Context) {
        let max_side = ctx.input(|i| i.max_texture_side).max(1) as u32;
        if let Some(viewer) = self.viewer.as_mut()
            && let Some(request) = viewer.full_request(&self.room.model, max_side)
        {
            self.media.request_full(request);
        }
    }

    fn update_title(&mut self, ctx: &egui::Context) {
        let focused = ctx.input(|i| i.viewport().focused.unwrap_or(true));
        if self.attention.set_focused(focused) {
            // Back to the window: show the first picture that arrived meanwhile.
            match self.attention.first_unseen.take() {
                Some(key) => self.timeline.scroll_to = Some(key),
                None => self.timeline.scroll_to_bottom = true,
            }
        }
        let title = match (&self.view, &self.room.model.room) {
            (View::Room, Some(room)) => self.attention.title(&format!("Snapwire — {room}")),
            _ => "Snapwire".to_owned(),
        };
        if title != self.title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
        }
    }

    /// Draws the current view and does what was asked in it.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        if matches!(self.view, View::Connect) {
            let input = ui::connect::ConnectInput {
                found: &self.found,
                discovering: self.discovery.is_some(),
                busy: self.hosting.starting(),
            };
            let intents = ui::connect::show(ui, &input, &mut self.form);
            self.dispatch_all(intents);
            return;
        }
        self.dispatch_all(ui::composer::take_dropped_and_pasted(ui.ctx()));
        if let Some(sheet) = self.sheet.as_mut() {
            let intents = ui::send_sheet::show(ui, sheet, &mut self.form.fields.keep_metadata);
            self.dispatch_all(intents);
        }
        if self.show_viewer(ui) {
            return;
        }
        let status = ui::status::StatusInput {
            model: &self.room.model,
            pending: self.room.pending_count(),
            hosting: self.hosting.hosted.as_ref(),
            notifications: self.form.fields.notifications,
            join_link: self.hosting.hosted.as_ref().and_then(|hosted| {
                let room = self.room.model.room.as_deref()?;
                Some(hosted.join_link(room))
            }),
            language: self.form.fields.language(),
        };
        let mut intents = ui::status::show(ui, &status);
        let images = self.viewable_keys();
        let activity = self.keep.activity();
        intents.extend(ui::tabs::show(
            ui,
            self.show_gallery,
            images.len(),
            &activity,
        ));
        intents.extend(ui::composer::show(
            ui,
            &mut self.composer,
            self.pick.is_some(),
        ));
        egui::CentralPanel::default().show(ui, |ui| {
            if self.show_gallery {
                let input = ui::gallery::GalleryInput {
                    model: &self.room.model,
                    keys: &images,
                    saving: self.keep.save.is_some(),
                };
                let gallery = &mut self.gallery;
                intents.extend(ui::gallery::show(
                    ui,
                    &input,
                    gallery,
                    &mut self.textures,
                    &self.media,
                ));
            } else {
                intents.extend(ui::timeline::show(
                    ui,
                    &self.room.model,
                    &mut self.timeline,
                    &mut self.textures,
                    &self.media,
                ));
            }
        });
        ui::composer::drop_overlay(ui);
        // An animated GIF on screen shows its next frame on time.
        if let Some(next) = self.textures.take_wake() {
            ui.ctx().request_repaint_after(next);
        }
        self.dispatch_all(intents);
    }

    /// The viewer over the whole window, when one is open; false when none is.
    fn show_viewer(&mut self, ui: &mut egui::Ui) -> bool {
        let keys = self.viewable_keys();
        let Some(viewer) = self.viewer.as_mut() else {
            return false;
        };
        let entries = &self.room.model.entries;
        let Some(row) = entries.iter().position(|e| e.key == viewer.key) else {
            self.viewer = None;
            return false;
        };
        let activity = self.keep.activity();
        let input = ui::viewer::ViewerInput {
            entry: &entries[row],
            row,
            keys: &keys,
            activity: &activity,
        };
        let intents = ui::viewer::show(ui, &input, viewer, &mut self.textures, &self.media);
        self.dispatch_all(intents);
        true
    }
}

impl eframe::App for SnapwireApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        SnapwireApp::logic(self, ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        SnapwireApp::ui(self, ui);
    }

    fn on_exit(&mut self) {
        self.shutdown();
    }
}
