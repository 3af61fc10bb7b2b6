# Las palabras de Snapwire en español. Los mensajes y sus $variables son
# exactamente los de en.ftl (una prueba lo comprueba); el usuario se trata de tú.

## Vista de conexión (src/ui/connect.rs)
connect-tagline = Comparte fotos con todos los de tu red.
connect-relay-address = Dirección del relé
connect-relay-address-hint = 192.168.1.20 o relay.local:7600
connect-your-name = Tu nombre
connect-your-name-hint = cómo te ven los demás
connect-room = Sala
connect-token = Token de acceso (si el relé lo pide)
connect-token-hint = opcional
connect-button = Conectar
connect-no-relay = ¿Aún no hay relé?
connect-host-explain = Abre una sala en este ordenador: los demás de tu red escriben la dirección que muestra.
connect-host-starting = Iniciando…
connect-host-button = Abrir una sala en este ordenador
connect-discovery-failed = No se pueden buscar relés en tu red: { $error }
connect-discovery-looking = Buscando relés en tu red…
connect-found-heading = Relés en tu red
connect-found-needs-token = pide un token
connect-found-join-hint = Entrar en este relé con tu nombre y tu sala
connect-found-token-prompt = «{ $instance }» pide un token de acceso:
connect-found-token-hint = token de acceso
connect-found-join = Entrar

## Compartidos por varias vistas
cancel = Cancelar
name-you = { $name } (tú)
image-save = Guardar…
image-copy = Copiar imagen
image-cannot-show = no se puede mostrar esta imagen ({ $reason })
image-loading = cargando…
image-reading = leyendo…
image-waiting-to-send = esperando para enviarse
# Una subida o descarga en curso: «1.2 MB de 3.4 MB».
image-progress = { $done } de { $total }

## Un mensaje o una foto en la conversación (src/ui/bubble.rs)
bubble-right-click-to-copy = Clic derecho para copiar
bubble-copy-text = Copiar texto
bubble-seen-by = visto por { $names }
bubble-not-sent = no enviado: { $why }
bubble-sending = enviando…
bubble-sent = enviado
bubble-open-image = Abrir { $name }
bubble-open = Abrir
dismiss = Cerrar

## Redacción, al pie de una sala (src/ui/composer.rs)
composer-choosing = Eligiendo…
composer-send-images = Enviar imágenes…
composer-send-images-hint = PNG, JPEG, GIF, WebP o BMP. También puedes soltar archivos aquí o pegarlos con Ctrl+V.
composer-message-hint = Escribe un mensaje: Intro envía, Mayús+Intro para una línea nueva
composer-send = Enviar
composer-drop = Suelta las imágenes para enviarlas

## Pestañas y la línea de guardado (src/ui/tabs.rs)
tabs-timeline = Conversación
tabs-gallery = Galería ({ $count })
tabs-gallery-hint = Todas las imágenes de la sala en una cuadrícula
tabs-choosing-where = Eligiendo dónde guardar…
tabs-saving = Guardando { $done } de { $total }…
tabs-stop = Detener

## «Abrir con» y archivos soltados: la hoja de envío (src/ui/send_sheet.rs)
send-sheet-title = { $count ->
    [one] Enviar 1 imagen
   *[other] Enviar { $count } imágenes
}
send-sheet-original = Original ({ $size })
send-sheet-smaller-already = Más pequeña: ya es bastante pequeña
send-sheet-smaller = Más pequeña (≈ { $size }): 2048 px como máximo, JPEG
send-sheet-strip = Quitar la ubicación y los datos de la cámara (EXIF/XMP)
send-sheet-strip-hint = Los píxeles no se tocan; solo se omiten los bloques de metadatos.
send-sheet-send = Enviar a la sala
send-sheet-keys = Intro envía · Esc cancela

## Conversación (src/ui/timeline.rs)
timeline-empty = Aún no hay fotos.
    Envía alguna con «{ composer-send-images }», suelta archivos aquí o pégalos con Ctrl+V.
timeline-new = { $count ->
    [one] 1 nuevo
   *[other] { $count } nuevos
}
timeline-new-hint = mensajes nuevos

## Galería (src/ui/gallery.rs)
gallery-count = { $count ->
    [one] 1 imagen
   *[other] { $count } imágenes
}
gallery-select-all = Seleccionar todo
gallery-select-none = No seleccionar nada
gallery-save-selected = Guardar selección ({ $count })…
gallery-save-hint = Elige una carpeta; nunca se reemplaza un archivo que ya existe
gallery-save-all = Guardar todo…
gallery-how-to-select = Clic para abrir · Ctrl+clic o la casilla para seleccionar · Mayús+clic para un rango
gallery-empty = Aún no hay imágenes en esta sala.
gallery-select-one = Seleccionar { $name }

## Visor (src/ui/viewer.rs)
viewer-zoom-fit = Zoom: ajustado
viewer-zoom-fitted = Zoom: { $percent } % (ajustado)
viewer-zoom = Zoom: { $percent } %
viewer-gone = esta imagen ya no está aquí
image-default-name = imagen
viewer-close = Cerrar
viewer-previous = Anterior
viewer-previous-hint = Flecha izquierda
viewer-position = { $at } de { $total }
viewer-next = Siguiente
viewer-next-hint = Flecha derecha
viewer-fit = Ajustar
viewer-zoom-out = Alejar (-)
viewer-zoom-in = Acercar (+)
viewer-loading-full = cargando la resolución completa…

## Línea de estado, siempre visible en una sala (src/ui/status.rs)
status-not-connected = Sin conexión
status-connecting = Conectando…
status-reconnecting-attempt = Reconectando… (intento { $attempt })
status-alone = { $names } · aún no hay nadie más
status-online = { $count } conectados: { $names }
status-connected = Conectado a { $room } · { $online }
status-reconnecting-in = Reconectando en { $secs } s: { $reason }
status-disconnected = Desconectado: { $reason }
status-stop-hosting = Cerrar la sala
status-leave = Salir
status-notify = Avisos
status-notify-hint = Avisos del escritorio de fotos y textos nuevos mientras esta ventana está en segundo plano
status-waiting-to-send = { $count ->
    [one] 1 esperando para enviarse
   *[other] { $count } esperando para enviarse
}
status-hosting-loopback = Sala abierta en { $address }: solo se llega desde este ordenador
status-hosting-no-address = Sala abierta en este ordenador (puerto { $port }); no se encontró ninguna dirección de red
status-hosting = Sala abierta en este ordenador; los demás escriben: { $addresses }
status-or = o
status-phones = Móviles y navegadores:
status-copy-link = Copiar enlace
status-hide-qr = Ocultar código QR
status-show-qr = Código QR
status-qr-hint = Escanéalo con la cámara de un móvil para abrir esta sala en su navegador

## El menú de idioma (src/ui/language.rs)
language-system = Sistema ({ $language })
language-hint = Idioma de la aplicación

## Conectar, y por qué terminó una conexión (src/net/)
send-error-full = demasiado a la vez; vuelve a intentarlo en un momento
send-error-stopped = el proceso de conexión se ha detenido
send-error-not-connected = sin conexión
net-closed-because = el relé cerró la conexión: { $reason }
net-closed-code = el relé cerró la conexión (código { $code })
net-closed = el relé cerró la conexión
net-nothing-listening = nada escucha en { $url } (¿está en marcha el relé?)
net-cannot-reach = no se puede llegar a { $url }: { $error }
net-bad-url = { $url } no se puede usar: { $error }
net-not-a-relay = { $url } no es un relé de Snapwire (HTTP { $status })
net-cannot-connect = no se puede conectar a { $url }: { $error }
net-no-answer = { $url } no respondió en { $secs } s
net-lost-in-hello = se perdió la conexión al saludar: { $error }
net-no-welcome = el relé no respondió al saludo en { $secs } s
net-lost = se perdió la conexión: { $error }
net-bad-welcome = el relé respondió al saludo con otra cosa
net-lost-sending-because = se perdió la conexión al enviar: { $error }
net-lost-sending = se perdió la conexión al enviar
net-unreadable = el relé envió un mensaje que esta aplicación no sabe leer ({ $error })
net-image-too-large = el relé anunció { $size }, más de los { $limit } que admite (no recibida)
net-too-many-large = demasiadas imágenes grandes a la vez (no recibida)
net-no-disk = demasiadas imágenes a la vez, y no hay sitio en disco para ellas (no recibida)
net-disk-failed = no se puede escribir en disco: { $error } (no recibida)

## Resultados de la propia aplicación (src/app.rs, src/picker.rs)
app-connection-failed = No se pudo iniciar la conexión: { $error }
app-hosting-failed = No se pudo abrir la sala: { $error }
app-cancel-failed = No se pudo cancelar: { $error }
app-host-failed = No se pudo abrir una sala: { $error }
picker-nothing-picked = No se eligió ninguna imagen. Si no apareció ningún diálogo de archivos, arrastra las imágenes a esta ventana o pégalas con Ctrl+V.
picker-title = Enviar imágenes
picker-filter = Imágenes

## Motivos y errores del relé, y las líneas de la sala (src/state/)
cancel-sender-left = quien la enviaba se fue antes de terminar
cancel-cancelled = quien la enviaba la canceló
cancel-bad-chunk = la subida se cortó (fragmento erróneo)
cancel-bad-hash = la subida llegó dañada (la suma de comprobación no coincide)
cancel-storage = el relé no pudo guardarla
cancel-server-shutdown = el relé se apagó
cancel-lagging = esta ventana se quedó atrás; llegará en breve
cancel-other = el relé la detuvo
cancel-too-late = ya enviada, demasiado tarde para cancelar
cancel-by-you = la cancelaste
image-damaged = no se puede mostrar esta imagen (su SHA-256 no coincide: se dañó por el camino)
relay-error-unauthorized = Falta el token de acceso o no es el correcto
relay-error-bad-name = El relé no acepta este nombre
relay-error-bad-room = El relé no acepta este nombre de sala
relay-error-bad-client = El relé no acepta el identificador de este cliente
relay-error-version = Este relé habla otra versión del protocolo
relay-error-slow-consumer = El relé nos echó por leer demasiado despacio
relay-error-server-shutdown = El relé se está apagando
relay-error-too-large = Demasiado grande
relay-error-bad-image = No es una imagen que el relé acepte
relay-error-rate-limited = Enviando demasiado deprisa; vuelve a intentarlo en un momento
relay-error-storage = El relé no pudo guardarla
relay-error-bad-text = El relé no acepta este texto
relay-error-other = Error del relé
# Entradas y salidas, en una línea: «Ben, Cy entraron», «Ben, Cy, Dan y 40 más entraron».
presence-joined = { $count ->
    [one] { $names } entró
   *[other] { $names } entraron
}
presence-joined-more = { $count ->
   *[other] { $names } y { $more } más entraron
}
presence-left = { $count ->
    [one] { $names } se fue
   *[other] { $names } se fueron
}
presence-left-more = { $count ->
   *[other] { $names } y { $more } más se fueron
}

## Las reglas del formulario de conexión (src/settings.rs)
form-name-empty = Escribe un nombre que verán los demás
form-name-too-long = Un nombre tiene como mucho { $max } caracteres (este tiene { $chars })
form-name-control = Un nombre no puede contener caracteres de control
form-room-length = Un nombre de sala tiene de 1 a { $max } caracteres
form-room-dot = Un nombre de sala no puede empezar por '.'
form-room-chars = Un nombre de sala solo puede llevar letras, cifras, '.', '_' y '-'
form-server-empty = Escribe la dirección del relé, como 192.168.1.20 o relay.local:7600
form-server-spaces = Una dirección no puede contener espacios
form-server-tls = Esta versión solo conecta con ws:// (el relé no tiene TLS); usa ws:// o solo la dirección
form-server-scheme = Usa ws://, no { $scheme }://
form-server-port = El puerto debe ser un número del 1 al 65535, no { $port }
form-server-v6-bracket = A la dirección IPv6 le falta su ']' de cierre
form-server-not-v6 = { $address } no es una dirección IPv6
form-server-after-v6 = Hay texto de más tras la dirección IPv6
form-server-no-host = La dirección no tiene nombre de equipo
form-server-v6-brackets = Pon la dirección IPv6 entre corchetes, como [fe80::1]:7600
form-server-bad-host = { $host } no es un nombre de equipo ni una dirección IP

## Guardar, copiar, enviar (src/keep.rs, src/session.rs)
keep-still-saving = Aún se está guardando; vuelve a intentarlo cuando termine
keep-copying = Copiando { $name }…
keep-no-place = No se guardó: no se eligió ningún sitio (o no se pudo mostrar ningún diálogo de archivos)
session-text-too-long = Este mensaje tiene { $bytes } bytes; el relé admite como mucho { $limit }
session-no-id = No se pudo crear un identificador para este elemento

## Avisos del escritorio (src/notify.rs); el título es el nombre de quien envía
notify-picture = envió una foto: { $name }
notify-more = { $count ->
    [one] y 1 elemento nuevo más
   *[other] y { $count } elementos nuevos más
}

## Leer, preparar y copiar imágenes (src/media/)
media-not-an-image = { $name } no es una imagen PNG, JPEG, GIF, WebP ni BMP
media-cannot-read = { $name }: no se puede leer ({ $error })
media-folder = { $name } es una carpeta, no una imagen
media-too-large = { $name } ocupa { $size }; el relé admite imágenes de hasta { $limit }
media-empty = { $name } está vacío
media-undecodable = { $name } no se pudo leer como imagen ({ $error })
copy-text-done = Texto copiado
copy-text-failed = No se pudo copiar el texto: { $error }
copy-image-done = { $name } ({ $size }) copiada como imagen
copy-image-failed = No se pudo copiar { $name }: { $error }
metadata-removed = metadatos quitados
metadata-none = sin metadatos
metadata-kept = original
metadata-smaller = reducida, metadatos quitados
metadata-unreadable = no se pudieron leer sus metadatos para quitarlos ({ $error })
inspect-cannot-read = no se puede leer ({ $error })
inspect-not-an-image = no es una imagen PNG, JPEG, GIF, WebP ni BMP
inspect-undecodable = no se pudo leer como imagen ({ $error })
paste-inconsistent = la imagen pegada tiene un tamaño incoherente
paste-cannot-encode = no se pudo codificar la imagen pegada: { $error }
decode-unknown-format = no es un formato de imagen conocido
decode-too-large = demasiado grande para mostrarla con seguridad: { $why }
decode-unreadable = su copia en caché no se puede leer: { $error }
decode-no-pixels = no tiene píxeles

## Guardar en disco y el portapapeles (src/export.rs, src/clipboard.rs)
save-dialog-one = Guardar imagen
save-dialog-many = Guardar las imágenes en esta carpeta
save-names-taken = Ya existen { $count } archivos con un nombre como { $name }
saved-nothing = No se guardó nada en { $dir }
saved-one = Guardada { $path }
saved-many = { $count } imágenes guardadas en { $dir }
saved-renamed-some = ({ $count } con otro nombre para no reemplazar ningún archivo)
saved-renamed-one = (con otro nombre para no reemplazar ningún archivo)
saved-stopped = detenido antes del final
saved-skipped = { $count } omitidas: { $names }
saved-skipped-more = { $count } omitidas: { $names } y { $more } más
clipboard-unavailable = el portapapeles no está disponible
clipboard-none = aquí no hay portapapeles ({ $error })

## Abrir una sala aquí (src/host.rs, src/hosting.rs)
host-thread-ended = el hilo que iniciaba el relé terminó
host-no-runtime = no se puede iniciar el motor del relé
host-cannot-listen = no se puede escuchar en { $address }

## Horas (src/look.rs): un patrón de chrono para una hora que no es de hoy
time-with-date = %-d/%m, %H:%M

## La página del navegador que sirve el relé (web/); también usa mensajes de arriba
web-empty = Aún no hay nada. Aquí aparecen las fotos y los mensajes que se envíen a esta sala.
web-send-pictures = Enviar fotos
web-message = Mensaje
web-smaller = Más pequeña (JPEG de 2048 px, para wifi lenta)
web-tagline = Comparte fotos con todos los de la sala.
web-token = Token de acceso
web-picture = Foto
web-save = Guardar
web-share = Compartir
web-drop = Suelta las fotos para enviarlas
web-sending-percent = enviando { $percent } %
web-streaming = { $percent } % de { $size }
web-checking = comprobando…
web-failed = falló
web-you = Tú
web-history-left = Cargando el historial: faltan { $count }…
web-connecting-again = Reconectando…
web-connecting = Conectando…
web-offline-because = Sin conexión ({ $reason }). Se reintenta en { $secs } s; lo que envíes espera.
web-offline = Sin conexión. Se reintenta en { $secs } s; lo que envíes espera.
web-history-reset = El historial de esta sala se reinició en el relé.
web-damaged = Esta foto llegó dañada (su SHA-256 no coincide) y no se muestra.
web-out-of-order = Esta foto llegó desordenada y no se muestra.
web-incomplete = Esta foto llegó incompleta y no se muestra.
web-not-completed = La foto «{ $name }» de { $who } no se completó ({ $reason }).
web-someone = alguien
web-relay-said = El relé dijo: { $message }
web-online = { $count } conectados: { $names }
web-seen-by = Visto por { $names }
web-preparing = Preparando «{ $name }» ({ $size })…
web-share-failed = No se pudo compartir: { $error }
web-cannot-open = no se puede abrir: { $error }
web-closed-code = cerrada, { $code }
web-sending-stopped = El envío se detuvo: { $error }
web-heic = «{ $name }» es una foto HEIC/HEIF, que el relé no acepta. En un iPhone elige Ajustes → Cámara → Formatos → Más compatible, o compártela como JPEG.
web-not-an-image = «{ $name }» no es una foto PNG, JPEG, GIF, WebP ni BMP, así que no se puede enviar.
web-too-large-try-smaller = «{ $name }» ocupa { $size }; este relé acepta fotos de hasta { $limit }. Prueba «Más pequeña».
web-too-large = «{ $name }» ocupa { $size }; este relé acepta fotos de hasta { $limit }.
web-not-sent = «{ $name }» no se envió: { $error }.
web-undecodable = «{ $name }» no se pudo leer como foto.
web-name-empty = Escribe un nombre para que los demás sepan quién envía.
