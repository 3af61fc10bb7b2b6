# Snapwire's words in English: the reference catalogue. es.ftl has exactly
# the same messages with the same $variables (a test checks it), and every
# t!("message-id", ...) in src/ names one of them (another test checks that).

## Connect view (src/ui/connect.rs)
connect-tagline = Share pictures with everyone on your network.
connect-relay-address = Relay address
connect-relay-address-hint = 192.168.1.20 or relay.local:7600
connect-your-name = Your name
connect-your-name-hint = how others see you
connect-room = Room
connect-token = Access token (if the relay needs one)
connect-token-hint = optional
connect-button = Connect
connect-no-relay = No relay yet?
connect-host-explain = Host a room on this computer: others on your network type the address it shows.
connect-host-starting = Starting…
connect-host-button = Host a room on this computer
connect-discovery-failed = Cannot look for relays on your network: { $error }
connect-discovery-looking = Looking for relays on your network…
connect-found-heading = Relays on your network
connect-found-needs-token = needs a token
connect-found-join-hint = Join this relay with your name and room
connect-found-token-prompt = “{ $instance }” needs an access token:
connect-found-token-hint = access token
connect-found-join = Join

## Shared by several views
cancel = Cancel
name-you = { $name } (you)
image-save = Save…
image-copy = Copy image
image-cannot-show = could not show this image ({ $reason })
image-loading = loading…
image-reading = reading…
image-waiting-to-send = waiting to send
# An upload or download under way: "1.2 MB of 3.4 MB".
image-progress = { $done } of { $total }

## A message or picture in the timeline (src/ui/bubble.rs)
bubble-right-click-to-copy = Right-click to copy
bubble-copy-text = Copy text
bubble-seen-by = seen by { $names }
bubble-not-sent = not sent: { $why }
bubble-sending = sending…
bubble-sent = sent
bubble-open-image = Open { $name }
bubble-open = Open
dismiss = Dismiss

## Composer, at the bottom of a room (src/ui/composer.rs)
composer-choosing = Choosing…
composer-send-images = Send images…
composer-send-images-hint = PNG, JPEG, GIF, WebP or BMP. You can also drop files here or paste with Ctrl+V.
composer-message-hint = Write a message — Enter sends, Shift+Enter for a new line
composer-send = Send
composer-drop = Drop images to send them

## Tabs and the saving line (src/ui/tabs.rs)
tabs-timeline = Timeline
tabs-gallery = Gallery ({ $count })
tabs-gallery-hint = All images of the room in a grid
tabs-choosing-where = Choosing where to save…
tabs-saving = Saving { $done } of { $total }…
tabs-stop = Stop

## "Open with" and drops: the send sheet (src/ui/send_sheet.rs)
send-sheet-title = { $count ->
    [one] Send 1 image
   *[other] Send { $count } images
}
send-sheet-original = Original ({ $size })
send-sheet-smaller-already = Smaller: already small enough
send-sheet-smaller = Smaller (≈ { $size }): at most 2048 px, JPEG
send-sheet-strip = Remove location and camera data (EXIF/XMP)
send-sheet-strip-hint = The pixels are not touched; only the metadata blocks are left out.
send-sheet-send = Send to the room
send-sheet-keys = Enter sends · Esc cancels

## Timeline (src/ui/timeline.rs)
timeline-empty = No pictures yet.
    Send some with “{ composer-send-images }”, drop files here, or paste with Ctrl+V.
timeline-new = { $count } new
timeline-new-hint = new messages

## Gallery (src/ui/gallery.rs)
gallery-count = { $count ->
    [one] 1 image
   *[other] { $count } images
}
gallery-select-all = Select all
gallery-select-none = Select none
gallery-save-selected = Save selected ({ $count })…
gallery-save-hint = Choose a folder; existing files are never replaced
gallery-save-all = Save all…
gallery-how-to-select = Click to open · Ctrl+click or the box to select · Shift+click for a range
gallery-empty = No images in this room yet.
gallery-select-one = Select { $name }

## Viewer (src/ui/viewer.rs)
viewer-zoom-fit = Zoom: fit
viewer-zoom-fitted = Zoom: { $percent }% (fit)
viewer-zoom = Zoom: { $percent }%
viewer-gone = this image is not here (any more)
image-default-name = image
viewer-close = Close
viewer-previous = Previous
viewer-previous-hint = Left arrow key
viewer-position = { $at } of { $total }
viewer-next = Next
viewer-next-hint = Right arrow key
viewer-fit = Fit
viewer-zoom-out = Zoom out (-)
viewer-zoom-in = Zoom in (+)
viewer-loading-full = loading full resolution…

## Status line, always shown in a room (src/ui/status.rs)
status-not-connected = Not connected
status-connecting = Connecting…
status-reconnecting-attempt = Reconnecting… (attempt { $attempt })
status-alone = { $names } · nobody else here yet
status-online = { $count } online: { $names }
status-connected = Connected to { $room } · { $online }
status-reconnecting-in = Reconnecting in { $secs } s — { $reason }
status-disconnected = Disconnected — { $reason }
status-stop-hosting = Stop hosting
status-leave = Leave
status-notify = Notify
status-notify-hint = Desktop notifications for new pictures and texts while this window is in the background
status-waiting-to-send = { $count } waiting to send
status-hosting-loopback = Hosting at { $address } — reachable from this computer only
status-hosting-no-address = Hosting on this computer (port { $port }); no network address found
status-hosting = Hosting on this computer — others type: { $addresses }
status-or = or
status-phones = Phones and browsers:
status-copy-link = Copy link
status-hide-qr = Hide QR code
status-show-qr = QR code
status-qr-hint = Scan with a phone's camera to open this room in its browser

## The language menu (src/ui/language.rs)
language-system = System ({ $language })
language-hint = The app's language

## Connecting, and why a connection ended (src/net/)
send-error-full = too much at once; try again in a moment
send-error-stopped = the connection worker has stopped
send-error-not-connected = not connected
net-closed-because = the relay closed the connection: { $reason }
net-closed-code = the relay closed the connection (code { $code })
net-closed = the relay closed the connection
net-nothing-listening = nothing is listening at { $url } (is the relay running?)
net-cannot-reach = cannot reach { $url }: { $error }
net-bad-url = { $url } cannot be used: { $error }
net-not-a-relay = { $url } is not a Snapwire relay (HTTP { $status })
net-cannot-connect = cannot connect to { $url }: { $error }
net-no-answer = no answer from { $url } within { $secs } s
net-lost-in-hello = connection lost while saying hello: { $error }
net-no-welcome = the relay did not answer hello within { $secs } s
net-lost = connection lost: { $error }
net-bad-welcome = the relay answered hello with something else
net-lost-sending-because = connection lost while sending: { $error }
net-lost-sending = connection lost while sending
net-unreadable = the relay sent a message this app cannot read ({ $error })
net-image-too-large = the relay announced { $size }, more than the { $limit } it allows (not received)
net-too-many-large = too many large images at once (not received)
net-no-disk = too many images at once, and no place on disk for them (not received)
net-disk-failed = cannot write it to disk: { $error } (not received)

## The app's own outcomes (src/app.rs, src/picker.rs)
app-connection-failed = Could not start the connection: { $error }
app-hosting-failed = Could not start hosting: { $error }
app-cancel-failed = Could not cancel: { $error }
app-host-failed = Could not host a room: { $error }
picker-nothing-picked = No images chosen. If no file dialog appeared, drag images onto this window or paste them with Ctrl+V.
picker-title = Send images
picker-filter = Images

## The relay's reasons and errors, and the room's own lines (src/state/)
cancel-sender-left = the sender left before it was complete
cancel-cancelled = the sender cancelled it
cancel-bad-chunk = the upload broke off (bad chunk)
cancel-bad-hash = the upload was damaged (checksum mismatch)
cancel-storage = the relay could not store it
cancel-server-shutdown = the relay shut down
cancel-lagging = this window fell behind; it will arrive shortly
cancel-other = the relay stopped it
cancel-too-late = already sent, too late to cancel
cancel-by-you = you cancelled it
image-damaged = could not show this image (its SHA-256 does not match: damaged on the way)
relay-error-unauthorized = Wrong or missing access token
relay-error-bad-name = The relay refused this name
relay-error-bad-room = The relay refused this room name
relay-error-bad-client = The relay refused this client's id
relay-error-version = This relay speaks another protocol version
relay-error-slow-consumer = The relay dropped us for reading too slowly
relay-error-server-shutdown = The relay is shutting down
relay-error-too-large = Too large
relay-error-bad-image = Not an image the relay accepts
relay-error-rate-limited = Sending too fast, try again in a moment
relay-error-storage = The relay could not store it
relay-error-bad-text = The relay refused this text
relay-error-other = Relay error
# Joins and leaves, one line: "Ben, Cy joined", "Ben, Cy, Dan and 40 more joined".
# $count is how many in all (for languages whose verb has a plural).
presence-joined = { $count ->
   *[other] { $names } joined
}
presence-joined-more = { $count ->
   *[other] { $names } and { $more } more joined
}
presence-left = { $count ->
   *[other] { $names } left
}
presence-left-more = { $count ->
   *[other] { $names } and { $more } more left
}

## The connect form's rules (src/settings.rs)
form-name-empty = Enter a name others will see
form-name-too-long = A name is at most { $max } characters (this one has { $chars })
form-name-control = A name cannot contain control characters
form-room-length = A room name is 1 to { $max } characters
form-room-dot = A room name may not start with '.'
form-room-chars = A room name may hold only letters, digits, '.', '_' and '-'
form-server-empty = Enter the relay's address, like 192.168.1.20 or relay.local:7600
form-server-spaces = An address cannot contain spaces
form-server-tls = This version connects with ws:// only (the relay has no TLS); use ws:// or just the address
form-server-scheme = Use ws://, not { $scheme }://
form-server-port = The port must be a number from 1 to 65535, not { $port }
form-server-v6-bracket = An IPv6 address needs its closing ']'
form-server-not-v6 = { $address } is not an IPv6 address
form-server-after-v6 = Unexpected text after the IPv6 address
form-server-no-host = The address has no host name
form-server-v6-brackets = Put an IPv6 address in brackets, like [fe80::1]:7600
form-server-bad-host = { $host } is not a host name or IP address

## Saving, copying, sending (src/keep.rs, src/session.rs)
keep-still-saving = Still saving; try again when it is done
keep-copying = Copying { $name }…
keep-no-place = Not saved: no place chosen (or no file dialog could be shown)
session-text-too-long = This message is { $bytes } bytes; the relay takes at most { $limit }
session-no-id = Could not make an id for this item

## Desktop notifications (src/notify.rs); the title is the sender's name
notify-picture = sent a picture: { $name }
notify-more = and { $count } more new items

## Reading, preparing and copying images (src/media/)
media-not-an-image = { $name } is not a PNG, JPEG, GIF, WebP or BMP image
media-cannot-read = { $name }: cannot read it ({ $error })
media-folder = { $name } is a folder, not an image
media-too-large = { $name } is { $size }; the relay accepts images up to { $limit }
media-empty = { $name } is empty
media-undecodable = { $name } could not be read as an image ({ $error })
copy-text-done = Copied the text
copy-text-failed = Could not copy the text: { $error }
copy-image-done = Copied { $name } ({ $size }) as an image
copy-image-failed = Could not copy { $name }: { $error }
metadata-removed = metadata removed
metadata-none = no metadata
metadata-kept = original
metadata-smaller = made smaller, metadata removed
metadata-unreadable = its metadata could not be read to remove it ({ $error })
inspect-cannot-read = cannot read it ({ $error })
inspect-not-an-image = not a PNG, JPEG, GIF, WebP or BMP image
inspect-undecodable = could not be read as an image ({ $error })
paste-inconsistent = the pasted image has an inconsistent size
paste-cannot-encode = could not encode the pasted image: { $error }
decode-unknown-format = not a known image format
decode-too-large = too large to show safely: { $why }
decode-unreadable = its cached copy is unreadable: { $error }
decode-no-pixels = it has no pixels

## Saving to disk and the clipboard (src/export.rs, src/clipboard.rs)
save-dialog-one = Save image
save-dialog-many = Save images to this folder
save-names-taken = { $count } files named like { $name } already exist
saved-nothing = Nothing saved to { $dir }
saved-one = Saved { $path }
saved-many = Saved { $count } images to { $dir }
saved-renamed-some = ({ $count } renamed so no file was replaced)
saved-renamed-one = (renamed so no file was replaced)
saved-stopped = stopped before the end
saved-skipped = { $count } skipped: { $names }
saved-skipped-more = { $count } skipped: { $names } and { $more } more
clipboard-unavailable = the clipboard is unavailable
clipboard-none = no clipboard here ({ $error })

## Hosting a room here (src/host.rs, src/hosting.rs)
host-thread-ended = the relay's start thread ended
host-no-runtime = cannot start the relay's runtime
host-cannot-listen = cannot listen on { $address }

## Times (src/look.rs): a chrono pattern for a time that is not today
time-with-date = %b %e, %H:%M

## The browser page the relay serves (web/); it also uses some messages above
web-empty = Nothing here yet. Pictures and messages sent to this room show up here.
web-send-pictures = Send pictures
web-message = Message
web-smaller = Smaller (2048 px JPEG, for slow Wi-Fi)
web-tagline = Share pictures with everyone in the room.
web-token = Access token
web-picture = Picture
web-save = Save
web-share = Share
web-drop = Drop pictures to send them
web-sending-percent = sending { $percent } %
web-streaming = { $percent } % of { $size }
web-checking = checking…
web-failed = failed
web-you = You
web-history-left = Loading history: { $count } more…
web-connecting-again = Connecting again…
web-connecting = Connecting…
web-offline-because = Offline ({ $reason }). Trying again in { $secs } s; what you send waits.
web-offline = Offline. Trying again in { $secs } s; what you send waits.
web-history-reset = This room's history was reset on the relay.
web-damaged = This picture arrived damaged (its SHA-256 does not match) and is not shown.
web-out-of-order = This picture arrived out of order and is not shown.
web-incomplete = This picture arrived incomplete and is not shown.
web-not-completed = { $who }'s picture “{ $name }” was not completed ({ $reason }).
web-someone = Someone
web-relay-said = The relay said: { $message }
web-online = { $count } online: { $names }
web-seen-by = Seen by { $names }
web-preparing = Preparing “{ $name }” ({ $size })…
web-share-failed = Sharing did not work: { $error }
web-cannot-open = cannot open: { $error }
web-closed-code = closed, { $code }
web-sending-stopped = Sending stopped: { $error }
web-heic = “{ $name }” is a HEIC/HEIF picture, which the relay does not take. On an iPhone choose Settings → Camera → Formats → Most Compatible, or share it as JPEG.
web-not-an-image = “{ $name }” is not a PNG, JPEG, GIF, WebP or BMP picture, so it cannot be sent.
web-too-large-try-smaller = “{ $name }” is { $size }; this relay takes pictures up to { $limit }. Try “Smaller”.
web-too-large = “{ $name }” is { $size }; this relay takes pictures up to { $limit }.
web-not-sent = “{ $name }” was not sent: { $error }.
web-undecodable = “{ $name }” could not be read as a picture.
web-name-empty = Type a name so others know who sends.
