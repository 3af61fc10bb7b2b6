//! The eframe app: owns the model, the network worker, the image workers and
//! the texture cache. `logic` drains every channel (it runs even while the
//! window is hidden); `ui` draws the current view and turns clicks into
//! commands. Nothing here blocks: files, dialogs, hashing, decoding and the
//! hosted relay's start all happen on other threads.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};

use snapwire_relay::protocol::validate;

use crate::cli::Launch;
use crate::host::{self, Hosted};
use crate::media::{self, Done, Job, MediaWorker, Source, TexKey};
use crate::net::{Command, NetHandle, Repaint};
use crate::picker::{self, FilePicker};
use crate::settings::{self, FormErrors, Paths, Settings, Target};
use crate::state::{Body, EntryKey, Event, ImageState, Model, now_ms};
use crate::textures::TextureCache;
use crate::ui;

/// Received images held in memory beyond this are written to a cache
/// directory (oldest first) and read back only to decode what is on screen.
pub const MEMORY_BUDGET: usize = 128 * 1024 * 1024;

/// Makes the connection for a target (the real worker, or a test's fake).
pub type Connector = Box<dyn FnMut(Target, String, Repaint) -> anyhow::Result<NetHandle>>;

pub struct AppOptions {
    pub paths: Paths,
    pub launch: Launch,
    pub picker: Arc<dyn FilePicker>,
    pub connector: Connector,
}

impl AppOptions {
    /// The real thing: rfd dialogs and the network worker.
    pub fn native(paths: Paths, launch: Launch) -> Self {
        Self {
            paths,
            launch,
            picker: Arc::new(picker::RfdPicker),
            connector: Box::new(|target, secret, repaint| {
                NetHandle::spawn(target, secret, repaint)
            }),
        }
    }
}

/// The connect view's state.
#[derive(Default)]
pub struct ConnectForm {
    pub fields: Settings,
    pub errors: FormErrors,
    /// Set once Connect was pressed: from then on errors update as you type.
    pub tried: bool,
    pub host_error: Option<String>,
    pub hosting_starting: bool,
    /// Relays seen on the LAN (empty while discovery is off).
    pub found: crate::discovery::FoundList,
    /// A found relay that needs a token: the form asks for it before joining.
    pub token_for: Option<String>,
    /// The app icon, shown above the form (uploaded once).
    pub icon: Option<egui::TextureHandle>,
}

/// What the room view needs besides the model.
pub struct RoomView {
    pub timeline: ui::timeline::TimelineState,
    pub composer: String,
    /// A short message under the composer (no dialog, too long…).
    pub hint: Option<String>,
}

pub enum View {
    Connect,
    Room,
}

pub struct SnapwireApp {
    pub paths: Paths,
    pub secret: String,
    pub form: ConnectForm,
    pub view: View,
    pub model: Model,
    pub room: RoomView,
    pub textures: TextureCache,
    pub media: MediaWorker,
    /// Viewer, gallery, saving and copying.
    pub keep: crate::keep::Keep,
    pub target: Option<Target>,
    net: Option<NetHandle>,
    connector: Connector,
    picker: Arc<dyn FilePicker>,
    pick: Option<mpsc::Receiver<Option<Vec<PathBuf>>>>,
    pub hosting: Option<Hosted>,
    host_start: Option<mpsc::Receiver<Result<Hosted, String>>>,
    host_identity: Option<(String, String)>,
    /// Jobs the media queue had no room for yet.
    backlog: VecDeque<Job>,
    /// Where images beyond [`MEMORY_BUDGET`] go; removed when the app ends.
    spill_dir: Option<tempfile::TempDir>,
    /// Images being written to the cache, with their sizes (still in memory until done).
    spilling: HashMap<EntryKey, usize>,
    /// Set when the cache cannot be written: then everything stays in memory.
    spill_broken: bool,
    check_memory: bool,
    /// Bytes of received images kept in memory (default [`MEMORY_BUDGET`]).
    pub memory_budget: usize,
    ctx: Arc<OnceLock<egui::Context>>,
    repaint: Repaint,
    title: String,
    /// Looking for relays on the LAN (off unless [`SnapwireApp::start_discovery`] was called).
    discovery: Option<crate::discovery::Discovery>,
    /// Files waiting for "Send" on the send sheet.
    pub sheet: Option<ui::send_sheet::SendSheet>,
    /// Files given on the command line, sent once the room shows (`true`: without asking).
    pending_open: Option<(Vec<PathBuf>, bool)>,
    /// Images from others that arrived while the window was unfocused.
    pub attention: crate::attention::Attention,
    /// Announce a hosted room on the LAN (the binary turns it on unless `--no-discovery`).
    pub advertise: bool,
    advertiser: Option<snapwire_relay::discovery::Advertiser>,
}

impl SnapwireApp {
    pub fn new(options: AppOptions) -> Self {
        let ctx: Arc<OnceLock<egui::Context>> = Arc::new(OnceLock::new());
        let repaint: Repaint = {
            let ctx = Arc::clone(&ctx);
            Arc::new(move || {
                if let Some(ctx) = ctx.get() {
                    ctx.request_repaint();
                }
            })
        };
        let saved = settings::load(&options.paths.settings_file);
        let secret =
            settings::load_or_create_secret(&options.paths.secret_file).unwrap_or_else(|e| {
                // Without a place to keep it we still work; the id just changes next run.
                tracing::warn!(error = %e, "cannot keep the client secret; using one for this run");
                settings::random_hex16().unwrap_or_else(|_| "0".repeat(32))
            });
        let mut app = Self {
            model: Model::new(validate::user_id(&secret)),
            paths: options.paths,
            secret,
            form: ConnectForm {
                fields: saved,
                ..ConnectForm::default()
            },
            view: View::Connect,
            room: RoomView {
                timeline: ui::timeline::TimelineState::default(),
                composer: String::new(),
                hint: None,
            },
            textures: TextureCache::default(),
            media: MediaWorker::spawn(Arc::clone(&repaint)),
            keep: crate::keep::Keep::default(),
            target: None,
            net: None,
            connector: options.connector,
            picker: options.picker,
            pick: None,
            hosting: None,
            host_start: None,
            host_identity: None,
            backlog: VecDeque::new(),
            spill_dir: None,
            spilling: HashMap::new(),
            spill_broken: false,
            check_memory: false,
            memory_budget: MEMORY_BUDGET,
            ctx,
            repaint,
            title: String::new(),
            discovery: None,
            sheet: None,
            pending_open: None,
            attention: crate::attention::Attention::new(),
            advertise: false,
            advertiser: None,
        };
        match options.launch {
            Launch::ConnectView => {}
            Launch::Connect(target) => app.connect(target),
            Launch::Host { listen, name, room } => app.start_hosting(listen, name, room),
        }
        app
    }

    /// Lists relays from `source` in the connect view, live, until the app ends.
    pub fn start_discovery(&mut self, source: crate::discovery::SourceMaker) {
        self.discovery = Some(crate::discovery::Discovery::spawn(
            source,
            Arc::clone(&self.repaint),
        ));
    }

    /// The window title as last set ("(3) Snapwire — room" while images wait unseen).
    pub fn window_title(&self) -> &str {
        &self.title
    }

    /// True while relays on the LAN are being looked for.
    pub fn discovering(&self) -> bool {
        self.discovery.is_some()
    }

    /// One click on a found relay: fill the address and join, or ask for its token first.
    pub fn join_found(&mut self, relay: &crate::discovery::FoundRelay) {
        let Some(address) = crate::discovery::typed_address(relay) else {
            return;
        };
        if self.form.fields.server != address {
            self.form.fields.token.clear();
        }
        self.form.fields.server = address;
        if let Some(room) = crate::discovery::room_of(&relay.instance) {
            self.form.fields.room = room;
        }
        if relay.needs_token && self.form.fields.token.trim().is_empty() {
            self.form.token_for = Some(relay.instance.clone());
            return;
        }
        self.form.token_for = None;
        self.submit_form();
    }

    /// Starts talking to a relay and shows the room.
    pub fn connect(&mut self, target: Target) {
        self.net = None;
        self.model = Model::new(validate::user_id(&self.secret));
        self.room.timeline = ui::timeline::TimelineState::default();
        self.textures = TextureCache::default();
        self.keep.reset();
        match (self.connector)(
            target.clone(),
            self.secret.clone(),
            Arc::clone(&self.repaint),
        ) {
            Ok(net) => {
                // After "Leave", the form shows what we were connected with.
                self.form.fields.name.clone_from(&target.name);
                self.form.fields.room.clone_from(&target.room);
                if self.host_identity.is_none() && self.hosting.is_none() {
                    self.form.fields.server = target
                        .url
                        .trim_start_matches("ws://")
                        .trim_end_matches("/ws")
                        .to_owned();
                    self.form.fields.token = target.token.clone().unwrap_or_default();
                }
                self.model.conn = crate::state::ConnState::Connecting { attempt: 0 };
                self.net = Some(net);
                self.target = Some(target);
                self.view = View::Room;
            }
            Err(e) => {
                self.form.host_error = Some(format!("Could not start the connection: {e:#}"));
                self.view = View::Connect;
            }
        }
    }

    /// The connect button: validate, remember, connect.
    pub fn submit_form(&mut self) {
        self.form.tried = true;
        match settings::validate_form(&self.form.fields) {
            Ok(target) => {
                self.form.errors = FormErrors::default();
                self.save_settings();
                self.connect(target);
            }
            Err(errors) => self.form.errors = errors,
        }
    }

    fn save_settings(&self) {
        if let Err(e) = settings::save(&self.paths.settings_file, &self.form.fields) {
            tracing::warn!(error = %e, "could not save settings");
        }
    }

    /// The host button: check name and room, then start the relay off the UI thread.
    pub fn host_from_form(&mut self) {
        self.form.tried = true;
        let name = settings::check_name(&self.form.fields.name);
        let room = settings::check_room(&self.form.fields.room);
        self.form.errors = FormErrors {
            server: None,
            name: name.clone().err(),
            room: room.clone().err(),
        };
        if let (Ok(name), Ok(room)) = (name, room) {
            self.save_settings();
            self.start_hosting(host::DEFAULT_LISTEN, name, room);
        }
    }

    pub fn start_hosting(&mut self, listen: std::net::SocketAddr, name: String, room: String) {
        let (tx, rx) = mpsc::sync_channel(1);
        let dir = self.paths.relay_dir.clone();
        let repaint = Arc::clone(&self.repaint);
        let spawned = std::thread::Builder::new()
            .name("snapwire-host-start".into())
            .spawn(move || {
                let _ = tx.send(Hosted::start(listen, dir).map_err(|e| format!("{e:#}")));
                repaint();
            });
        match spawned {
            Ok(_) => {
                self.form.hosting_starting = true;
                self.form.host_error = None;
                self.host_start = Some(rx);
                self.host_identity = Some((name, room));
            }
            Err(e) => self.form.host_error = Some(format!("Could not start hosting: {e}")),
        }
    }

    /// Back to the connect view (and stop hosting: others lose the room with it).
    pub fn leave(&mut self) {
        self.net = None;
        self.target = None;
        // Withdrawn with the room.
        self.advertiser = None;
        if let Some(hosted) = self.hosting.take() {
            // Stopping waits for connections to close; not on the UI thread.
            let _ = std::thread::Builder::new()
                .name("snapwire-host-stop".into())
                .spawn(move || hosted.stop());
        }
        self.view = View::Connect;
    }

    /// Stops everything; the window is closing.
    pub fn shutdown(&mut self) {
        self.net = None;
        self.advertiser = None;
        self.discovery = None;
        if let Some(hosted) = self.hosting.take() {
            hosted.stop();
        }
    }

    fn max_image_bytes(&self) -> u64 {
        self.model
            .limits
            .map_or(media::DEFAULT_MAX_IMAGE_BYTES, |l| l.max_image_bytes)
    }

    /// Files from "Open with Snapwire": the send sheet once the room shows, or
    /// straight away with `yes` (`--yes`).
    pub fn open_files(&mut self, paths: Vec<PathBuf>, yes: bool) {
        if !paths.is_empty() {
            self.pending_open = Some((paths, yes));
        }
    }

    /// Shows the send sheet for `paths` (added to what it already lists).
    pub fn open_sheet(&mut self, paths: Vec<PathBuf>) {
        let mut all = self.sheet.take().map(|s| s.paths()).unwrap_or_default();
        all.extend(paths);
        self.sheet = Some(ui::send_sheet::SendSheet::open(
            all,
            Arc::clone(&self.repaint),
        ));
    }

    /// "Send" on the sheet: its files with the chosen size and metadata options.
    pub fn send_sheet(&mut self) {
        let Some(sheet) = self.sheet.take() else {
            return;
        };
        let options = media::SendOptions {
            strip_metadata: !self.form.fields.keep_metadata,
            smaller: sheet.smaller,
        };
        self.save_settings();
        for path in sheet.paths() {
            let name = path
                .file_name()
                .map_or_else(|| "image".to_owned(), |n| n.to_string_lossy().into_owned());
            self.send_source_with(&name, Source::File(path), options);
        }
    }

    /// Sends files: each gets its entry at once, and is read and hashed on a worker.
    pub fn send_files(&mut self, paths: Vec<PathBuf>) {
        for path in paths {
            let name = path
                .file_name()
                .map_or_else(|| "image".to_owned(), |n| n.to_string_lossy().into_owned());
            self.send_source(&name, Source::File(path));
        }
    }

    pub fn send_source(&mut self, name: &str, source: Source) {
        let options = self.default_send_options();
        self.send_source_with(name, source, options);
    }

    /// Originals, with metadata removed unless the setting keeps it.
    pub fn default_send_options(&self) -> media::SendOptions {
        media::SendOptions {
            strip_metadata: !self.form.fields.keep_metadata,
            smaller: false,
        }
    }

    pub fn send_source_with(&mut self, name: &str, source: Source, options: media::SendOptions) {
        let Ok(id) = settings::random_hex16() else {
            self.room.hint = Some("Could not make an id for this item".into());
            return;
        };
        self.model.add_own_image(&id, name, now_ms());
        self.room.timeline.scroll_to_bottom = true;
        let job = Job::Prepare {
            id,
            source,
            max_bytes: self.max_image_bytes(),
            options,
        };
        self.backlog.push_back(job);
        self.flush_backlog();
    }

    fn flush_backlog(&mut self) {
        while let Some(job) = self.backlog.pop_front() {
            if let Err(job) = self.media.submit(job) {
                self.backlog.push_front(job);
                break;
            }
        }
    }

    /// Sends the composer's text, if there is any.
    pub fn send_text(&mut self) {
        let text = self.room.composer.trim_end().to_owned();
        if text.trim().is_empty() {
            return;
        }
        let limit = self.model.limits.map_or(16 * 1024, |l| l.max_text_bytes);
        if text.len() as u64 > limit {
            self.room.hint = Some(format!(
                "This message is {} bytes; the relay takes at most {limit}",
                text.len()
            ));
            return;
        }
        let Ok(id) = settings::random_hex16() else {
            self.room.hint = Some("Could not make an id for this message".into());
            return;
        };
        self.model.add_own_text(&id, &text, now_ms());
        self.room.composer.clear();
        self.room.hint = None;
        self.room.timeline.scroll_to_bottom = true;
        self.command(Command::SendText { id, text });
    }

    pub fn cancel(&mut self, id: &str) {
        let preparing = self
            .model
            .by_local_id(id)
            .and_then(|e| e.image())
            .is_some_and(|i| i.state == ImageState::Preparing);
        if preparing {
            // Still on a worker: its result will be ignored.
            self.model
                .apply(Event::UploadCancelled { id: id.to_owned() });
        } else {
            self.command(Command::Cancel { id: id.to_owned() });
        }
    }

    pub fn pick_files(&mut self) {
        if self.pick.is_some() {
            return;
        }
        self.room.hint = None;
        self.pick = Some(picker::spawn_pick(
            self.picker.as_ref(),
            Arc::clone(&self.repaint),
        ));
    }

    pub fn picking(&self) -> bool {
        self.pick.is_some()
    }

    fn command(&mut self, command: Command) {
        let id = match &command {
            Command::SendText { id, .. } | Command::SendImage { id, .. } => Some(id.clone()),
            Command::Cancel { .. } => None,
        };
        let result = match &self.net {
            Some(net) => net.send(command),
            None => Err("Not connected".to_owned()),
        };
        if let Err(why) = result {
            match id {
                Some(id) => self.model.apply(Event::RelayError {
                    code: snapwire_relay::protocol::ErrorCode::RateLimited,
                    message: why,
                    id: Some(id),
                }),
                None => self.room.hint = Some(why),
            }
        }
    }

    /// Drains every channel; runs each frame, also while the window is hidden.
    pub fn logic(&mut self, ctx: &egui::Context) {
        let _ = self.ctx.set(ctx.clone());
        if let Some(discovery) = &self.discovery {
            discovery.drain(&mut self.form.found);
        }

        if let Some(rx) = &self.host_start
            && let Ok(result) = rx.try_recv()
        {
            self.host_start = None;
            self.form.hosting_starting = false;
            let (name, room) = self.host_identity.take().unwrap_or_default();
            match result {
                Ok(hosted) => {
                    if self.advertise && !hosted.bound.ip().is_loopback() {
                        let instance = crate::discovery::instance_for(&name, &room);
                        match crate::discovery::advertise(&instance, hosted.port) {
                            Ok(advertiser) => self.advertiser = Some(advertiser),
                            Err(e) => tracing::warn!(error = %e, "cannot announce the room"),
                        }
                    }
                    let target = Target {
                        url: hosted.local_url.clone(),
                        name,
                        room,
                        token: None,
                    };
                    self.hosting = Some(hosted);
                    self.connect(target);
                }
                Err(e) => {
                    self.view = View::Connect;
                    self.form.host_error = Some(format!("Could not host a room: {e}"));
                }
            }
        }

        if let Some(rx) = &self.pick
            && let Ok(answer) = rx.try_recv()
        {
            self.pick = None;
            match answer {
                Some(paths) if !paths.is_empty() => self.open_sheet(paths),
                _ => {
                    self.room.hint = Some(
                        "No images chosen. If no file dialog appeared, drag images onto this \
                         window or paste them with Ctrl+V."
                            .into(),
                    );
                }
            }
        }

        // Bounded per frame so a flood of events never stalls drawing.
        let mut budget = 2000;
        while budget > 0 {
            let Some(event) = self.net.as_mut().and_then(NetHandle::try_recv) else {
                break;
            };
            budget -= 1;
            self.apply_net_event(event);
        }
        if budget == 0 {
            ctx.request_repaint();
        }

        while let Some(done) = self.media.try_recv() {
            match done {
                Done::Prepared {
                    id,
                    result,
                    metadata,
                } => {
                    let image = result.as_ref().ok().cloned();
                    self.model.apply(Event::Prepared {
                        id: id.clone(),
                        result,
                    });
                    if let Some(outcome) = metadata {
                        self.model.set_note(&id, outcome.words());
                    }
                    let accepted = self
                        .model
                        .by_local_id(&id)
                        .and_then(|e| e.image())
                        .is_some_and(|i| i.state == ImageState::Queued);
                    if let (Some(image), true) = (image, accepted) {
                        self.command(Command::SendImage { id, image });
                    }
                }
                Done::Decoded { key, result } => self.textures.finish(ctx, key, result),
                Done::Spilled { key, result } => {
                    self.spilling.remove(&key);
                    match result {
                        Ok(path) => self.model.spilled(key, path),
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot write the image cache; keeping images in memory");
                            self.spill_broken = true;
                        }
                    }
                }
            }
        }
        if matches!(self.view, View::Room)
            && let Some((paths, yes)) = self.pending_open.take()
        {
            if yes {
                self.send_files(paths);
            } else {
                self.open_sheet(paths);
            }
        }
        if std::mem::take(&mut self.check_memory) {
            self.spill_over_budget();
        }
        self.keep_logic(ctx);
        self.flush_backlog();

        let focused = ctx.input(|i| i.viewport().focused.unwrap_or(true));
        if self.attention.set_focused(focused) {
            // Back to the window: show the first picture that arrived meanwhile.
            match self.attention.first_unseen.take() {
                Some(key) => self.room.timeline.scroll_to = Some(key),
                None => self.room.timeline.scroll_to_bottom = true,
            }
        }
        let title = match (&self.view, &self.model.room) {
            (View::Room, Some(room)) => self.attention.title(&format!("Snapwire — {room}")),
            _ => "Snapwire".to_owned(),
        };
        if title != self.title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
        }
        // The status line counts down "reconnecting in N s".
        if matches!(
            self.model.conn,
            crate::state::ConnState::Reconnecting { .. }
        ) {
            ctx.request_repaint_after(std::time::Duration::from_millis(500));
        }
    }

    /// Moves the oldest received images out of memory until what stays fits the budget.
    fn spill_over_budget(&mut self) {
        if self.spill_broken {
            return;
        }
        let leaving: usize = self.spilling.values().sum();
        let mut excess = self
            .model
            .bytes_in_memory()
            .saturating_sub(leaving)
            .saturating_sub(self.memory_budget);
        if excess == 0 {
            return;
        }
        if self.spill_dir.is_none() {
            match tempfile::Builder::new()
                .prefix("snapwire-images-")
                .tempdir()
            {
                Ok(dir) => self.spill_dir = Some(dir),
                Err(e) => {
                    tracing::warn!(error = %e, "no cache directory; keeping images in memory");
                    self.spill_broken = true;
                    return;
                }
            }
        }
        let Some(dir) = self.spill_dir.as_ref().map(|d| d.path().to_path_buf()) else {
            return;
        };
        let candidates: Vec<(EntryKey, bytes::Bytes)> = self
            .model
            .entries
            .iter()
            .filter(|e| !self.spilling.contains_key(&e.key))
            .filter_map(|e| {
                let image = e.image()?;
                (image.state == ImageState::Ready).then_some(())?;
                Some((e.key, image.bytes.clone()?))
            })
            .collect();
        for (key, bytes) in candidates {
            if excess == 0 {
                break;
            }
            excess = excess.saturating_sub(bytes.len());
            self.spilling.insert(key, bytes.len());
            self.backlog.push_back(Job::Spill {
                key,
                bytes,
                path: dir.join(format!("{key}.img")),
            });
        }
    }

    fn apply_net_event(&mut self, event: Event) {
        // An image from someone else, live (not history): counted while the window is away.
        let arriving = match &event {
            Event::ImageComplete { sid, .. } => self
                .model
                .entries
                .iter()
                .find(|e| e.sid == Some(*sid) && !e.own && !e.history)
                .map(|e| e.key),
            _ => None,
        };
        if matches!(event, Event::ImageComplete { .. }) {
            self.check_memory = true;
        }
        // Entries that leave the timeline take their textures with them.
        let before: Vec<_> = match &event {
            Event::Reconnecting { .. }
            | Event::Stopped { .. }
            | Event::Welcome(_)
            | Event::ImageComplete { .. }
            | Event::ImageCancel { .. }
            | Event::Ack { .. } => self.model.entries.iter().map(|e| e.key).collect(),
            _ => Vec::new(),
        };
        self.model.apply(event);
        if let Some(key) = arriving
            && self
                .model
                .entry(key)
                .and_then(|e| e.image())
                .is_some_and(|i| i.state == ImageState::Ready)
        {
            self.attention.image_arrived(key);
        }
        if !before.is_empty() {
            let now: std::collections::HashSet<_> =
                self.model.entries.iter().map(|e| e.key).collect();
            for key in before.into_iter().filter(|k| !now.contains(k)) {
                self.textures.forget(TexKey::Full(key));
                self.textures.forget(TexKey::Preview(key));
            }
        }
    }

    /// Files dropped on the window, images pasted, files copied and pasted.
    fn take_dropped_and_pasted(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        });
        let (images, paths) = ctx.input_mut(|i| {
            let mut images = Vec::new();
            let mut paths = Vec::new();
            i.events.retain(|event| match event {
                egui::Event::PasteImage(image) => {
                    images.push(Arc::clone(image));
                    false
                }
                egui::Event::Paste(text) => match picker::pasted_paths(text) {
                    Some(found) => {
                        paths.extend(found);
                        false
                    }
                    None => true,
                },
                _ => true,
            });
            (images, paths)
        });
        if !dropped.is_empty() {
            self.open_sheet(dropped);
        }
        if !paths.is_empty() {
            self.open_sheet(paths);
        }
        for image in images {
            self.send_source("pasted image.png", Source::Pasted(image));
        }
    }

    /// Draws the current view.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        match self.view {
            View::Connect => ui::connect::show(ui, self),
            View::Room => {
                self.take_dropped_and_pasted(ui.ctx());
                match ui::send_sheet::show(ui, self) {
                    Some(ui::send_sheet::Choice::Send) => self.send_sheet(),
                    Some(ui::send_sheet::Choice::Close) => self.sheet = None,
                    None => {}
                }
                if ui::viewer::show(ui, self) {
                    return;
                }
                ui::status::show(ui, self);
                crate::keep::tabs(ui, self);
                ui::composer::show(ui, self);
                egui::CentralPanel::default().show(ui, |ui| {
                    if self.keep.show_gallery {
                        ui::gallery::show(ui, self);
                        return;
                    }
                    let actions = ui::timeline::show(
                        ui,
                        &self.model,
                        &mut self.room.timeline,
                        &mut self.textures,
                        &self.media,
                    );
                    for action in actions {
                        self.keep_action(action);
                    }
                });
                ui::composer::drop_overlay(ui);
            }
        }
    }

    /// Our own entries not yet acked (shown in the status line while offline).
    pub fn pending_count(&self) -> usize {
        self.model
            .entries
            .iter()
            .filter(|e| {
                e.pending()
                    && match &e.body {
                        Body::Image(i) => i.state.in_flight(),
                        Body::Text { failed, .. } => failed.is_none(),
                        Body::Notice(_) => false,
                    }
            })
            .count()
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
