// Russian (default) and English. Dates and numbers are formatted in the
// event's time zone and the chosen language's locale.

import type { Lang } from "./types";

const ru = {
  "app.title": "Регистрация",
  "status.standalone": "Автономно — локальная база",
  "status.online": "В сети",
  "status.offline": "Нет связи",
  "status.via": "через",
  "status.waiting": "Ждут отправки",
  "status.last_sync": "Синхронизация",
  "status.never": "—",
  "status.desk": "Стойка",
  "role.entrance": "Вход",
  "role.island": "Остров",
  "role.coordinator": "Координатор",
  "setup.title": "Настройка стойки",
  "setup.event": "Мероприятие",
  "setup.attendees": "участников: {n}",
  "setup.standalone": "Работать автономно с локальной базой этого компьютера",
  "setup.demo": "Демо-мероприятие: участники сгенерированы для примера",
  "setup.pairing": "Подключение к серверу по QR-коду появится вместе с клиентом синхронизации.",
  "setup.role": "Роль этой стойки",
  "setup.location": "Место",
  "setup.start": "Начать",
  "setup.change": "Сменить роль",
  "scan.field": "Поле сканирования",
  "scan.prompt": "Сканируйте бейдж",
  "scan.hint": "Сканер или код билета + Enter",
  "search.placeholder": "Поиск: фамилия, имя, организация (кириллица или латиница)",
  "search.none": "Никого не найдено",
  "search.checkin": "Отметить",
  "search.in_at": "пришёл(а) в",
  "verdict.admitted": "ПРОХОД РАЗРЕШЁН",
  "verdict.already_checked_in": "УЖЕ ОТМЕЧЕН",
  "verdict.not_valid_today": "НЕ ДЕЙСТВУЕТ СЕГОДНЯ",
  "verdict.revoked": "БЕЙДЖ АННУЛИРОВАН",
  "verdict.unknown_badge": "НЕИЗВЕСТНЫЙ БЕЙДЖ",
  "verdict.wrong_event": "ДРУГОЕ МЕРОПРИЯТИЕ",
  "verdict.invalid_signature": "ПОДДЕЛКА: ПОДПИСЬ НЕВЕРНА",
  "verdict.malformed": "КОД НЕ РАСПОЗНАН",
  "verdict.first_at": "Первый проход: {time}, {place} ({desk})",
  "verdict.valid_on": "Действует: {days}",
  "verdict.unsynced": "Подпись верна; данных участника на этой стойке ещё нет",
  "verdict.visit": "Визит №{n}",
  "verdict.call_coordinator": "Позовите координатора",
  "counter.today": "Сегодня отмечено",
  "counter.of": "из",
  "counter.here": "Через этот вход",
  "undo.button": "Отменить последнюю отметку",
  "undo.title": "Отмена последней отметки",
  "undo.reason": "Причина",
  "undo.confirm": "Отменить отметку",
  "undo.cancel": "Закрыть",
  "undo.done": "Отметка отменена: {name}",
  "undo.reasons": "Отсканирован не тот бейдж|Ошибочная отметка из поиска|Участник ушёл, не пройдя",
  "walkin.button": "Новый участник",
  "walkin.title": "Регистрация на месте",
  "walkin.name": "ФИО",
  "walkin.org": "Организация",
  "walkin.position": "Должность",
  "walkin.category": "Категория",
  "walkin.email": "E-mail",
  "walkin.phone": "Телефон",
  "walkin.save": "Зарегистрировать и отметить",
  "walkin.print_todo": "Печать бейджа появится с модулем PDF (TODO)",
  "reprint.button": "Перепечатать бейдж",
  "island.pick": "Остров",
  "island.inside": "Сейчас внутри",
  "island.visitors": "Посетителей сегодня",
  "island.visits": "визитов",
  "island.anon": "без бейджа",
  "island.plus": "+1 вошёл",
  "island.minus": "−1 вышел",
  "island.keys": "Клавиши: + / −",
  "island.mode": "Сканирование",
  "island.in": "Вход",
  "island.out": "Выход",
  "island.per_hour": "По часам",
  "coord.dashboard": "Обзор",
  "coord.attendees": "Участники",
  "coord.import": "Импорт",
  "coord.export": "Экспорт",
  "coord.devices": "Устройства",
  "coord.arrivals": "Приход по 15 минут, по входам",
  "coord.islands": "Острова",
  "coord.no_shows": "Ещё не пришли",
  "coord.expected": "Ожидается",
  "coord.checked_in": "Пришли",
  "coord.filter": "Фильтр",
  "coord.all": "Все",
  "coord.status_in": "Пришли сегодня",
  "coord.status_not_in": "Не пришли",
  "coord.status_revoked": "Аннулированы",
  "coord.all_categories": "Все категории",
  "coord.rows": "строк",
  "coord.revoke": "Аннулировать",
  "coord.restore": "Восстановить",
  "coord.edit": "Изменить",
  "coord.save": "Сохранить",
  "coord.revoke_reason": "Причина аннулирования",
  "coord.col_name": "ФИО",
  "coord.col_org": "Организация",
  "coord.col_cat": "Категория",
  "coord.col_code": "Код",
  "coord.col_in": "Пришёл",
  "coord.import_pick": "Выберите файл CSV или XLSX",
  "coord.import_preview": "Предпросмотр: первые строки и сопоставление столбцов",
  "coord.import_skip": "Пропустить строки с ошибками",
  "coord.import_go": "Импортировать",
  "coord.import_done": "Готово: новых {created}, обновлено {updated}, без изменений {unchanged}",
  "coord.import_errors": "Строки с ошибками (ничего не импортировано)",
  "coord.line": "строка",
  "coord.ignore": "— не импортировать —",
  "coord.export_csv": "Посещаемость CSV",
  "coord.export_xlsx": "Посещаемость XLSX",
  "coord.export_done": "Файл сохранён",
  "coord.devices_this": "Эта стойка",
  "coord.devices_todo": "Подключение и отзыв устройств появятся вместе с сервером синхронизации.",
  "coord.print_todo": "Печать бейджей (PDF) — TODO: ждёт модуль checkin_core::pdf",
  "lang.switch": "English",
  "error": "Ошибка",
};

export type Key = keyof typeof ru;

const en: Record<Key, string> = {
  "app.title": "Check-in",
  "status.standalone": "Standalone — local database",
  "status.online": "Online",
  "status.offline": "Offline",
  "status.via": "via",
  "status.waiting": "Uploads waiting",
  "status.last_sync": "Last sync",
  "status.never": "—",
  "status.desk": "Desk",
  "role.entrance": "Entrance",
  "role.island": "Island",
  "role.coordinator": "Coordinator",
  "setup.title": "Set up this desk",
  "setup.event": "Event",
  "setup.attendees": "{n} attendees",
  "setup.standalone": "Run standalone on this computer's local database",
  "setup.demo": "Demo event: attendees generated as an example",
  "setup.pairing": "Joining a server by pairing QR code arrives with the sync client.",
  "setup.role": "This desk's role",
  "setup.location": "Location",
  "setup.start": "Start",
  "setup.change": "Change role",
  "scan.field": "Scan field",
  "scan.prompt": "Scan a badge",
  "scan.hint": "Hand scanner, or a ticket code + Enter",
  "search.placeholder": "Search: surname, name, organisation (Cyrillic or Latin)",
  "search.none": "No one found",
  "search.checkin": "Check in",
  "search.in_at": "in at",
  "verdict.admitted": "ADMITTED",
  "verdict.already_checked_in": "ALREADY CHECKED IN",
  "verdict.not_valid_today": "NOT VALID TODAY",
  "verdict.revoked": "REVOKED",
  "verdict.unknown_badge": "UNKNOWN BADGE",
  "verdict.wrong_event": "OTHER EVENT",
  "verdict.invalid_signature": "FORGED: BAD SIGNATURE",
  "verdict.malformed": "UNREADABLE CODE",
  "verdict.first_at": "First in: {time}, {place} ({desk})",
  "verdict.valid_on": "Valid on: {days}",
  "verdict.unsynced": "Signature valid; this person's details have not reached this desk yet",
  "verdict.visit": "Visit #{n}",
  "verdict.call_coordinator": "Call a coordinator",
  "counter.today": "Checked in today",
  "counter.of": "of",
  "counter.here": "At this entrance",
  "undo.button": "Undo last check-in",
  "undo.title": "Undo the last check-in",
  "undo.reason": "Reason",
  "undo.confirm": "Undo check-in",
  "undo.cancel": "Close",
  "undo.done": "Check-in undone: {name}",
  "undo.reasons": "Scanned the wrong badge|Wrong person picked in search|Person left without entering",
  "walkin.button": "Walk-in",
  "walkin.title": "Walk-in registration",
  "walkin.name": "Full name",
  "walkin.org": "Organisation",
  "walkin.position": "Position",
  "walkin.category": "Category",
  "walkin.email": "E-mail",
  "walkin.phone": "Phone",
  "walkin.save": "Register and check in",
  "walkin.print_todo": "Badge printing arrives with the PDF module (TODO)",
  "reprint.button": "Reprint badge",
  "island.pick": "Island",
  "island.inside": "Inside now",
  "island.visitors": "Visitors today",
  "island.visits": "visits",
  "island.anon": "without badge",
  "island.plus": "+1 in",
  "island.minus": "−1 out",
  "island.keys": "Keys: + / −",
  "island.mode": "Scanning",
  "island.in": "In",
  "island.out": "Out",
  "island.per_hour": "Per hour",
  "coord.dashboard": "Dashboard",
  "coord.attendees": "Attendees",
  "coord.import": "Import",
  "coord.export": "Export",
  "coord.devices": "Devices",
  "coord.arrivals": "Arrivals per 15 minutes, per entrance",
  "coord.islands": "Islands",
  "coord.no_shows": "Not arrived yet",
  "coord.expected": "Expected",
  "coord.checked_in": "Arrived",
  "coord.filter": "Filter",
  "coord.all": "All",
  "coord.status_in": "Arrived today",
  "coord.status_not_in": "Not arrived",
  "coord.status_revoked": "Revoked",
  "coord.all_categories": "All categories",
  "coord.rows": "rows",
  "coord.revoke": "Revoke",
  "coord.restore": "Restore",
  "coord.edit": "Edit",
  "coord.save": "Save",
  "coord.revoke_reason": "Why revoke",
  "coord.col_name": "Name",
  "coord.col_org": "Organisation",
  "coord.col_cat": "Category",
  "coord.col_code": "Code",
  "coord.col_in": "Arrived",
  "coord.import_pick": "Choose a CSV or XLSX file",
  "coord.import_preview": "Preview: first rows and column mapping",
  "coord.import_skip": "Skip rows with errors",
  "coord.import_go": "Import",
  "coord.import_done": "Done: {created} new, {updated} updated, {unchanged} unchanged",
  "coord.import_errors": "Rows with errors (nothing was imported)",
  "coord.line": "line",
  "coord.ignore": "— do not import —",
  "coord.export_csv": "Attendance CSV",
  "coord.export_xlsx": "Attendance XLSX",
  "coord.export_done": "File saved",
  "coord.devices_this": "This desk",
  "coord.devices_todo": "Pairing and revoking devices arrive with the sync server.",
  "coord.print_todo": "Badge printing (PDF) — TODO: waits for checkin_core::pdf",
  "lang.switch": "Русский",
  "error": "Error",
};

const dicts: Record<Lang, Record<Key, string>> = { ru, en };

let lang: Lang = "ru";
let timeZone = "Europe/Moscow";

export function setLang(l: Lang): void {
  lang = l;
  document.documentElement.lang = l;
}
export function getLang(): Lang {
  return lang;
}
export function setTimeZone(tz: string): void {
  timeZone = tz;
}

/** Translate, filling `{name}` placeholders. */
export function t(key: Key, vars: Record<string, string | number> = {}): string {
  let s = dicts[lang][key] ?? key;
  for (const [k, v] of Object.entries(vars)) s = s.replace(`{${k}}`, String(v));
  return s;
}

function locale(): string {
  return lang === "ru" ? "ru-RU" : "en-GB";
}

/** A number with the locale's grouping (1 234 / 1,234). */
export function num(n: number): string {
  return new Intl.NumberFormat(locale()).format(n);
}

/** Time of day in the event's time zone. */
export function time(iso: string | number | Date): string {
  return new Intl.DateTimeFormat(locale(), { timeZone, hour: "2-digit", minute: "2-digit" }).format(new Date(iso));
}

/** A calendar date (YYYY-MM-DD, already an event day) as "2 июня" / "2 June". */
export function day(isoDay: string): string {
  const [y, m, d] = isoDay.split("-").map(Number);
  return new Intl.DateTimeFormat(locale(), { timeZone: "UTC", day: "numeric", month: "long" }).format(
    new Date(Date.UTC(y, m - 1, d)),
  );
}

/** Date and time in the event's time zone. */
export function dateTime(iso: string | number | Date): string {
  return new Intl.DateTimeFormat(locale(), {
    timeZone, day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
  }).format(new Date(iso));
}

/** A category's label in the current language (from a verdict's summary or the event's list). */
export function categoryLabel(
  c: { category_label_ru: string; category_label_en: string } | { label_ru: string; label_en: string },
): string {
  if ("label_ru" in c) return lang === "ru" ? c.label_ru : c.label_en;
  return lang === "ru" ? c.category_label_ru : c.category_label_en;
}
