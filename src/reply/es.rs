//! The built-in texts in Spanish: the same texts and placeholders as the English
//! ones, written for readers of public administration's Spanish (usted, plain and
//! polite). Command words stay as listkeeper reads them (`subscribe`, `confirm`…).

use super::Template;

/// The Spanish text of `template` (`linked`: with the links of `[web]`, the
/// confirmation requests' `{confirm_url}`, a welcome's `{unsubscribe_url}` and a
/// goodbye's `{undo_url}`).
pub(super) fn builtin(template: Template, linked: bool) -> &'static str {
    match template {
        Template::ConfirmSubscribe if linked => {
            "Alguien, probablemente usted, pidió suscribir la dirección {address} a la lista {list} ({title}).\n\n\
             Para confirmar, abra este enlace y haga clic en el botón de la página:\n  {confirm_url}\n\
             o responda a este mensaje, o envíe cualquier mensaje a\n  {confirm_address}\n\
             Esta solicitud es válida hasta el {expires}.\n\n\
             Si usted no hizo esta solicitud, no haga caso de este mensaje: no se hará ningún cambio sin su confirmación."
        }
        Template::ConfirmUnsubscribe if linked => {
            "Alguien, probablemente usted, pidió dar de baja la dirección {address} de la lista {list}.\n\n\
             Para confirmar, abra este enlace y haga clic en el botón de la página:\n  {confirm_url}\n\
             o responda a este mensaje, o envíe cualquier mensaje a\n  {confirm_address}\n\
             Esta solicitud es válida hasta el {expires}.\n\n\
             Si usted no hizo esta solicitud, no haga caso de este mensaje: su suscripción sigue vigente."
        }
        Template::ConfirmSet if linked => {
            "Alguien, probablemente usted, pidió que la dirección {address} reciba de la lista {list}: {mode}, hasta {until}.\n\n\
             Para confirmar, abra este enlace y haga clic en el botón de la página:\n  {confirm_url}\n\
             o responda a este mensaje, o envíe cualquier mensaje a\n  {confirm_address}\n\
             Esta solicitud es válida hasta el {expires}.\n\n\
             Si usted no hizo esta solicitud, no haga caso de este mensaje: no se hará ningún cambio."
        }
        Template::ConfirmSet => {
            "Alguien, probablemente usted, pidió que la dirección {address} reciba de la lista {list}: {mode}, hasta {until}.\n\n\
             Para confirmar, responda a este mensaje o envíe cualquier mensaje a\n  {confirm_address}\n\
             Esta solicitud es válida hasta el {expires}.\n\n\
             Si usted no hizo esta solicitud, no haga caso de este mensaje: no se hará ningún cambio."
        }
        Template::ModeSet => {
            "A partir de ahora, la dirección {address} recibe de la lista {list}: {mode}, hasta {until}.\n\n\
             Para cambiarlo, envíe \"set {list_id} mail\" (o digest, o nomail) a {request_address}."
        }
        Template::NomailBouncesOwner => {
            "La dirección {address} ya no recibe mensajes de la lista {list}: los mensajes enviados a ella rebotaron demasiadas veces.\n\
             Sigue siendo miembro (modo nomail, motivo: rebotes). Para que vuelva a recibir mensajes:\n\
             \x20 listkeeper set {list_id} {address} mail"
        }
        Template::ModeUnchanged => {
            "La dirección {address} ya recibe de la lista {list}: {mode}, hasta {until}. No se ha hecho ningún cambio."
        }
        Template::ConfirmSubscribe => {
            "Alguien, probablemente usted, pidió suscribir la dirección {address} a la lista {list} ({title}).\n\n\
             Para confirmar, responda a este mensaje o envíe cualquier mensaje a\n  {confirm_address}\n\
             Esta solicitud es válida hasta el {expires}.\n\n\
             Si usted no hizo esta solicitud, no haga caso de este mensaje: no se hará ningún cambio sin su confirmación."
        }
        Template::ConfirmUnsubscribe => {
            "Alguien, probablemente usted, pidió dar de baja la dirección {address} de la lista {list}.\n\n\
             Para confirmar, responda a este mensaje o envíe cualquier mensaje a\n  {confirm_address}\n\
             Esta solicitud es válida hasta el {expires}.\n\n\
             Si usted no hizo esta solicitud, no haga caso de este mensaje: su suscripción sigue vigente."
        }
        Template::Welcome if linked => {
            "Le damos la bienvenida a {list}: la dirección {address} ya está suscrita.\n\n{title}\n\n\
             Para darse de baja de la lista, abra este enlace y haga clic en el botón de la página:\n  {unsubscribe_url}\n\
             o envíe un mensaje a {leave_address}."
        }
        Template::Goodbye if linked => {
            "Se ha dado de baja la dirección {address} de la lista {list}.\n\n\
             ¿Ha sido un error? Durante los próximos 7 días, abra este enlace y haga clic en el botón\n\
             de la página para volver a suscribirse en el acto:\n  {undo_url}\n\n\
             Pasado ese plazo, para volver a suscribirse, envíe un mensaje a {subscribe_address}."
        }
        Template::Welcome => {
            "Le damos la bienvenida a {list}: la dirección {address} ya está suscrita.\n\n{title}\n\n\
             Para darse de baja de la lista, envíe un mensaje a {leave_address}."
        }
        Template::Goodbye => {
            "Se ha dado de baja la dirección {address} de la lista {list}.\n\n\
             Para volver a suscribirse, envíe un mensaje a {subscribe_address}."
        }
        Template::Refused => {
            "La dirección {address} no puede suscribirse a la lista {list}:\n\n  {reason}"
        }
        Template::AlreadyMember => {
            "La dirección {address} ya está suscrita a la lista {list}. No se ha hecho ningún cambio."
        }
        Template::NotMember => {
            "La dirección {address} no está suscrita a la lista {list}. No se ha hecho ningún cambio."
        }
        Template::HeldOwner => {
            "{address} ({name}) solicita suscribirse a la lista {list}; {why}.\n\n\
             Para aprobar la solicitud, responda a este mensaje: la respuesta llega a {request_address} con\n\
             \x20 approve {token}\n\
             en el asunto. Para rechazarla, envíe en su lugar\n\
             \x20 reject {token} el motivo\n\
             a {request_address}. O bien, en el servidor:\n\
             \x20 listkeeper approve {list_id} {address}\n\
             \x20 listkeeper reject {list_id} {address} --reason \"...\"\n\n\
             Si nadie decide, la solicitud vence el {expires}."
        }
        Template::Declined => {
            "Los administradores de la lista {list} no aceptaron la solicitud de suscripción de {address}:\n\n  {reason}"
        }
        Template::ApprovedOwner => {
            "{address} ya es miembro de la lista {list}; se le ha enviado el mensaje de bienvenida."
        }
        Template::RejectedOwner => {
            "Se rechazó la solicitud de {address} para suscribirse a la lista {list}; se le ha informado."
        }
        Template::JoinedOwner => "Nueva suscripción a la lista {list}: {address} ({how}).",
        Template::LeftOwner => "Baja en la lista {list}: {address} ({how}).",
        Template::LapsedOwner => {
            "Ha vencido una solicitud de {address} sobre la lista {list} ({what}): {how}."
        }
        Template::SummaryOwner => {
            "Esto es lo ocurrido en la lista {list} entre el {from} y el {to}:\n\n{events}\n\n\
             Este resumen se envía una vez al día, cuando hay algo que comunicar."
        }
        Template::WaitingOwner => {
            "Estas solicitudes de suscripción a la lista {list} siguen pendientes de su decisión:\n\n{waiting}\n\n\
             Para aprobar una, envíe \"approve CÓDIGO\" a {request_address} (o responda a este\n\
             mensaje con ese texto en el asunto); para rechazarla, \"reject CÓDIGO el motivo\"."
        }
        Template::OwnerOk => {
            "Alguien, probablemente usted, envió desde {address} este comando para la lista {list}:\n\n\
             \x20 {command}\n\n\
             La dirección del remitente (From) no demuestra quién envió el mensaje, así que todavía no se ha hecho nada.\n\
             Para llevarlo a cabo, responda a este mensaje con OK o envíe cualquier mensaje a\n  {confirm_address}\n\
             Esta solicitud es válida hasta el {expires}.\n\n\
             Si usted no envió este comando, no haga caso de este mensaje: no se hará nada sin su OK."
        }
        Template::OwnerDone => "Resultado de \"{command}\": {result}",
        Template::OwnersOnly => {
            "Solo {who} de la lista {list} pueden usar \"{command}\", y la dirección {address} no figura entre ellos.\n\
             No se ha hecho ningún cambio."
        }
        Template::Review => "Miembros de la lista {list} ({count}):\n\n{members}",
        Template::AlreadyHeld => {
            "La solicitud de suscripción de {address} a la lista {list} ya está en manos de los administradores."
        }
        Template::Held => {
            "Su solicitud de suscripción a la lista {list} se ha remitido a los administradores de la lista, que decidirán sobre ella.\n\
             Le avisaremos cuando hayan tomado una decisión."
        }
        Template::BadToken => {
            "Esa confirmación no existe, ya se usó o ha vencido. No se ha hecho ningún cambio.\n\n\
             Para empezar de nuevo, envíe un mensaje a {subscribe_address} (o a {leave_address} para darse de baja)."
        }
        Template::BadTokenServer => {
            "Esa confirmación no existe, ya se usó o ha vencido. No se ha hecho ningún cambio.\n\n\
             Para empezar de nuevo, envíe \"lists\" a {server_address} y recibirá las listas de este servidor."
        }
        Template::Info => {
            "{list}: {title}\n\nQuién puede suscribirse: {terms}\n\n\
             Para suscribirse, envíe un mensaje a {subscribe_address}.\n\
             Para darse de baja, envíe un mensaje a {leave_address}.\n\
             Para ver los comandos, envíe \"help\" a {request_address}."
        }
        Template::QueryMember => "La dirección {address} está suscrita a la lista {list}.",
        Template::ConfirmLeaveAll => {
            "Alguien, probablemente usted, pidió dar de baja la dirección {address} de todas las listas de este servidor.\n\
             Está suscrita a:\n{lists}\n\n\
             Para confirmar, responda a este mensaje, o envíe cualquier mensaje a\n  {confirm_address}\n\
             Esta solicitud es válida hasta el {expires}.\n\n\
             Si usted no hizo esta solicitud, no haga caso de este mensaje: su suscripción sigue activa."
        }
        Template::ConfirmErase => {
            "Alguien, probablemente usted, pidió que se borre todo lo que este servidor\n\
             guarda sobre la dirección {address}. Está suscrita a:\n{lists}\n\n\
             Cuando lo confirme, la dirección {address} se dará de baja de todas\n\
             las listas de este servidor, se anularán sus solicitudes y en nuestros\n\
             registros solo quedará, en lugar de la dirección, una huella criptográfica\n\
             (para que nadie pueda volver a suscribirla sin su propia confirmación).\n\
             Este es el último mensaje sobre el tema: no responderemos a la confirmación,\n\
             porque la respuesta obligaría a guardar la dirección.\n\n\
             Para confirmar, responda a este mensaje, o envíe cualquier mensaje a\n  {confirm_address}\n\
             Esta solicitud es válida hasta el {expires}.\n\n\
             Si usted no hizo esta solicitud, no haga caso de este mensaje: no se hará ningún cambio."
        }
        Template::LeftAll => {
            "La dirección {address} se ha dado de baja de:\n{lists}\n\n\
             Para volver a suscribirse, envíe \"lists\" a {server_address} para ver las listas de este servidor."
        }
        Template::QueryAll => "La dirección {address} está suscrita a:\n{lists}",
        Template::ConfirmChange => {
            "Alguien, probablemente usted, pidió que la suscripción de {from} pase a la dirección {address} en:\n{lists}\n\n\
             El nombre, la fecha de suscripción y el modo de recepción se mantienen.\n\
             Para confirmar, responda a este mensaje, o envíe cualquier mensaje a\n  {confirm_address}\n\
             Esta solicitud es válida hasta el {expires}.\n\n\
             Si usted no hizo esta solicitud, no haga caso de este mensaje: no se hará ningún cambio."
        }
        Template::ChangeSent => {
            "Se ha enviado una confirmación a {to}. Cuando se confirme desde esa dirección,\n\
             la suscripción de {address} pasará a {to} en:\n{lists}"
        }
        Template::Changed => {
            "La suscripción de {address} ha pasado a {to} en:\n{lists}\n\n\
             Se mantienen el nombre, la fecha de suscripción y el modo de recepción."
        }
        Template::ChangeRefused => {
            "La suscripción de {address} no puede pasar a {to} y sigue como está en:\n{lists}"
        }
        Template::NotOnAnyList => {
            "La dirección {address} no está suscrita a ninguna lista de este servidor."
        }
        Template::QueryNotMember => "La dirección {address} no está suscrita a la lista {list}.",
        Template::NoCommand => "No se encontró ningún comando en su mensaje.",
        Template::UnknownList => {
            "Aquí no hay ninguna lista llamada \"{word}\". Envíe \"lists\" para ver las listas de este servidor."
        }
        Template::MissingList => "Indique el nombre de la lista, por ejemplo: {example}",
        Template::NotSupported => {
            "comando no admitido aquí: {line}\nEnvíe \"help\" para ver los comandos que reconoce listkeeper."
        }
        Template::LastConfirmation => {
            "Esta es la última confirmación o aviso que listkeeper enviará hoy a {address};\n\
             hasta mañana no se responderá a más solicitudes de suscripción, baja o confirmación."
        }
        Template::LastCommandReply => {
            "Esta es la última respuesta a comandos que listkeeper enviará hoy a {address};\n\
             hasta mañana no se responderá a más mensajes con comandos."
        }
        Template::Help => {
            "Comandos (uno por línea, en el asunto o en el cuerpo del mensaje; en los mensajes a\n\
             LISTA-request se puede omitir el nombre de la lista):\n\n\
             \x20 subscribe LISTA [Nombre y apellido]   suscribirse a una lista (también: sub, join, suscribir, alta)\n\
             \x20 unsubscribe LISTA                     darse de baja de una lista (también: signoff, unsub, leave, baja)\n\
             \x20 confirm CÓDIGO                        confirmar una solicitud (también: confirmar)\n\
             \x20 info LISTA                            qué es la lista y quién puede suscribirse\n\
             \x20 lists                                 las listas de este servidor\n\
             \x20 query LISTA                           si su dirección está suscrita\n\
             \x20 query *                               las listas a las que está suscrita su dirección\n\
             \x20 signoff *                             darse de baja de todas las listas (una sola confirmación)\n\
             \x20 erase                                 borrar todo lo que guardamos sobre usted (una sola confirmación; también: borrar)\n\
             \x20 change LISTA|* nueva@dirección       pasar su suscripción a otra dirección (la nueva lo confirma)\n\
             \x20 set LISTA nomail [until FECHA]        no recibir mensajes por un tiempo (FECHA: 2027-01-15)\n\
             \x20 set LISTA mail | digest               volver a recibir cada mensaje, o recibir resúmenes\n\
             \x20 review LISTA                          los miembros (para los administradores, salvo que la lista lo amplíe)\n\
             \x20 help                                  este texto (también: ayuda)\n\
             \x20 end                                   dejar de leer comandos\n\n\
             Los administradores de la lista disponen además de estos comandos (con QUIET delante, sin\n\
             mensaje de bienvenida ni de baja; se llevan a cabo tras el OK a un mensaje enviado a la\n\
             dirección del administrador):\n\
             \x20 add LISTA dirección [Nombre y apellido] dar de alta a un miembro\n\
             \x20 delete LISTA dirección                dar de baja a un miembro\n\n\
             También puede escribir a LISTA-subscribe-request o a LISTA-unsubscribe-request: cualquier mensaje sirve."
        }
        Template::ReenableBounces if linked => {
            "El correo de {list} a {address} rebotó demasiadas veces, por lo que la lista dejó de enviárselo.\n\n\
             Para volver a recibir el correo de la lista, abra este enlace y haga clic en el botón de la página:\n  {confirm_url}\n\
             o responda a este mensaje, o envíe cualquier mensaje a\n  {confirm_address}\n\n\
             Este es el aviso {number} de {warnings}: después del último, se dará de baja la dirección {address}."
        }
        Template::ReenableBounces => {
            "El correo de {list} a {address} rebotó demasiadas veces, por lo que la lista dejó de enviárselo.\n\n\
             Para volver a recibir el correo de la lista, responda a este mensaje o envíe cualquier mensaje a\n  {confirm_address}\n\n\
             Este es el aviso {number} de {warnings}: después del último, se dará de baja la dirección {address}."
        }
        Template::RemovedBouncesOwner => {
            "Se dio de baja la dirección {address} de la lista {list}: su correo rebotaba, no recibía\n\
             correo desde entonces y los avisos para volver ({notices}) quedaron sin respuesta."
        }
        Template::IncidentOwner => {
            "El correo de {list} a {domain} rebotó para {count} miembros en una hora\n\
             (estado {statuses}). Tantos a la vez indican un problema en {domain}, o en la firma\n\
             del correo de la lista (DMARC, SPF, DKIM), no en esos miembros: no se ha subido\n\
             la puntuación de rebotes de nadie. Se le avisa una sola vez mientras dure."
        }
    }
}
