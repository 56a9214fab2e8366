#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (committed; small). Run it again
after changing a format: `python3 fuzz/seeds/generate.py`. Deterministic."""

import gzip
import io
import json
import os
import shutil
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
EVENT = "01900000-0000-7000-8000-000000000001"
DEVICE = "01900000-0000-7000-8000-000000000002"
OTHER = "01900000-0000-7000-8000-000000000003"
PERSON = "01900000-0000-7000-8000-0000000000a1"
LOCATION = "01900000-0000-7000-8000-0000000000b1"
SEPARATOR = b"\n--shared-strings--\n"


def write(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def badge_token():
    for i, text in enumerate(["CK", "ck" + "A" * 143, "  CKAEBAAAAA\r\n", "T-000123", "СЛФУИ", "CK!!", "CKAI"]):
        write("badge_token", f"text-{i}", b"\x00" + text.encode())
    # Odd first byte: the target signs claims from the next 24 bytes.
    claims = bytes([1]) + bytes.fromhex("a1b2c3d4") + bytes(range(16)) + b"\x00\x05" + b"\x02"
    write("badge_token", "signed", b"\x01" + claims)
    write("badge_token", "signed-edited", b"\x01" + claims + bytes([10, ord("A"), 144, ord("a"), 230, ord(" ")]))


def import_csv():
    header = "ФИО;Организация;Должность;Категория;E-mail;Телефон;Билет;Дни\n"
    rows = [
        "Чупшева Анна Сергеевна;Фонд «Добро»;Координатор;участник;anna@example.org;+7 900 000-00-01;T-000001;2026-06-02\n",
        "\"Ёлкина-Щербакова\nЮлия\";\"ООО \"\"Ъ\"\"\";;speaker;;;T-000002;все\n",
        ";пусто;;;;;;\n",
        "Smith John;ACME;CEO;press;JOHN@EXAMPLE.COM;;T-000003;03.06.2026\n",
        "Петров Пётр;;;неизвестная;not-an-email;;;2026-07-01\n",
    ]
    text = header + "".join(rows)
    write("import_csv", "utf8-semicolon", b"\x00" + text.encode())
    write("import_csv", "utf8-bom", b"\x00" + b"\xef\xbb\xbf" + text.encode())
    write("import_csv", "cp1251", b"\x00" + text.encode("cp1251", errors="replace"))
    write("import_csv", "cp1251-declared", b"\x02" + text.encode("cp1251", errors="replace"))
    write("import_csv", "utf16le", b"\x03" + b"\xff\xfe" + text.encode("utf-16-le"))
    english = "Full name,Organization,Category,Email,Days\r\nIvan Ivanov,\"Org, Inc\",participant,ivan@example.org,\r\n"
    write("import_csv", "english-comma", b"\x0c" + english.encode())
    write("import_csv", "sep-hint", b"\x00" + ("sep=,\n" + english).encode())
    write("import_csv", "tabs-mapped", b"\x54" + "Участник\tПочта\nИванов Иван\tivan@example.org\n".encode())
    write("import_csv", "mac-lines", b"\x00" + "ФИО\rИванов Иван\rПетров Пётр\r".encode())


def xlsx_parts(rows):
    strings = []
    def s(v):
        if v not in strings:
            strings.append(v)
        return strings.index(v)
    cells = []
    for r, row in enumerate(rows, start=1):
        out = []
        for c, v in enumerate(row):
            ref = chr(ord("A") + c) + str(r)
            if isinstance(v, (int, float)):
                out.append(f'<c r="{ref}"><v>{v}</v></c>')
            elif v is not None:
                out.append(f'<c r="{ref}" t="s"><v>{s(v)}</v></c>')
        cells.append(f'<row r="{r}">{"".join(out)}</row>')
    sheet = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
             '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             f'<sheetData>{"".join(cells)}</sheetData></worksheet>')
    sst = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
           '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
           f'count="{len(strings)}" uniqueCount="{len(strings)}">'
           + "".join(f"<si><t>{v}</t></si>" for v in strings) + "</sst>")
    return sheet.encode(), sst.encode()


FIXED = {
    "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
    "_rels/.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Лист1" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
}


def xlsx_file(sheet, sst):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in FIXED.items():
            z.writestr(zipfile.ZipInfo(name, (2026, 6, 1, 0, 0, 0)), body)
        z.writestr(zipfile.ZipInfo("xl/worksheets/sheet1.xml", (2026, 6, 1, 0, 0, 0)), sheet)
        z.writestr(zipfile.ZipInfo("xl/sharedStrings.xml", (2026, 6, 1, 0, 0, 0)), sst)
    return buf.getvalue()


def import_xlsx():
    tables = {
        "russian": [
            ["ФИО", "Организация", "Категория", "E-mail", "Дни"],
            ["Чупшева Анна Сергеевна", "Фонд «Добро»", "участник", "anna@example.org", "2026-06-02"],
            ["Ёлкина-Щербакова Юлия", None, "speaker", None, None],
            [None, None, None, None, None],
            ["Smith John", "ACME", "press", "JOHN@EXAMPLE.COM", 46176],
        ],
        "split-names": [
            [None, "Список участников"],
            [None, "Фамилия", "Имя", "Отчество", "Билет"],
            [None, "Иванов", "Иван", "Иванович", 123456],
            [None, "Петрова", "Мария", None, "T-000002"],
        ],
    }
    for name, rows in tables.items():
        sheet, sst = xlsx_parts(rows)
        write("import_xlsx", f"{name}.xlsx", b"\x00" + xlsx_file(sheet, sst))
        write("import_xlsx", f"{name}-parts", b"\x01" + sheet + SEPARATOR + sst)


def hlc(ms, counter=0, node=DEVICE):
    return f"{ms:013d}-{counter:06d}-{node}"


def change(n, kind, data, ms=1780380000000, device=DEVICE):
    return {"id": f"01900000-0000-7000-8000-{n:012x}", "event_id": EVENT, "hlc": hlc(ms, n, device),
            "device_id": device, "kind": kind, "data": data}


def sync_push():
    checkin = {"id": "01900000-0000-7000-8000-0000000000c1", "attendee_id": PERSON, "location_id": LOCATION,
               "device_id": DEVICE, "direction": "in", "method": "scan", "at": "2026-06-02T09:00:00Z",
               "day": "2026-06-02", "annulled_by": None}
    attendee = {"id": PERSON, "full_name": "Чупшева Анна Сергеевна", "latin_name": None, "organization": "Фонд",
                "position": None, "category": "participant", "email": "anna@example.org", "phone": None,
                "days": ["2026-06-02"], "ticket_codes": ["T-000001"], "notes": None, "revoked": False, "badge_issue": 0}
    scan = {"id": "01900000-0000-7000-8000-0000000000d1", "location_id": LOCATION, "device_id": DEVICE,
            "at_ms": 1780390800000, "payload": "T-000001", "verdict": "admitted", "reason": "ok",
            "attendee_id": PERSON, "checkin_id": checkin["id"]}
    event = {"event": {"id": EVENT, "name": "Форум", "days": ["2026-06-02", "2026-06-03"], "timezone": "Europe/Moscow",
                       "categories": [{"code": "participant", "label_ru": "Участник", "label_en": "Participant", "color": "#2e7d32"}]},
             "keys": [{"key_id": 1, "public_key": "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c"}]}
    location = {"id": LOCATION, "name": "Вход A", "kind": "entrance", "allow_reentry": False}
    volunteer = [
        change(1, "device", {"id": DEVICE, "name": "Вход A"}),
        change(2, "attendee", attendee),
        change(3, "checkin", checkin),
        change(4, "scan", scan),
        change(5, "annulment", {"id": "01900000-0000-7000-8000-0000000000e1", "checkin_id": checkin["id"],
                                "reason": "ошибка", "device_id": DEVICE, "at_ms": 1780390900000}),
        change(7, "device_key", {"device_id": DEVICE, "key_id": 128,
                                 "public_key": "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c",
                                 "proof": "00" * 64}),
        change(6, "badge_printed", {"id": "01900000-0000-7000-8000-0000000000f1", "device_id": DEVICE,
                                    "at_ms": 1780390800000, "layout": "a6",
                                    "badges": [{"attendee_id": PERSON, "issue": 0}]}),
        change(8, "badge_printed", {"id": "01900000-0000-7000-8000-0000000000f2", "device_id": DEVICE,
                                    "at_ms": 1780390900000, "layout": "a6",
                                    "badges": [{"attendee_id": PERSON, "issue": 0}], "reason": "потерял бейдж"}),
    ]
    coordinator = [
        change(10, "event", event),
        change(11, "location", location),
        change(12, "revocation", {"attendee_id": PERSON, "revoked": True, "reason": "потерян"}),
        change(14, "device_revoked", {"device_id": OTHER, "reason": "украден", "at_ms": 1780390800000}),
        change(13, "badge_revoked", {"attendee_id": PERSON, "issue": 0, "reason": "потерян", "at_ms": 1780390800000}),
        change(15, "category", {"code": "smi", "label_ru": "СМИ", "label_en": "Media", "color": "#607d8b",
                                "days": ["2026-06-03"], "removed": False}),
        change(16, "kiosk_pin", {"hash": "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$" + "A" * 43,
                                 "at_ms": 1780390800000}),
    ] + volunteer
    island = "01900000-0000-7000-8000-0000000000a3"  # odd: a zone to the target
    proposal = {"id": "01900000-0000-7000-8000-0000000000b1", "island_id": island,
                "author": {"attendee_id": PERSON}, "title": "Волонтёрские центры в каждом районе",
                "text": "Создать сеть центров…\nПилот в трёх районах.", "topics": ["Волонтёрство", "Город"],
                "consent": True, "status": "new", "device_id": DEVICE, "at_ms": 1780390800000}
    walk_up = dict(proposal, id="01900000-0000-7000-8000-0000000000b2", consent=False,
                   author={"name": "Smith John", "organization": "ACME", "contact": "+7 999 000-00-00"})
    host = [
        change(30, "location", {"id": island, "name": "Остров 1", "kind": "zone", "allow_reentry": True}),
        change(31, "proposal", proposal),
        change(32, "proposal", walk_up),
        change(33, "proposal_edit", {"id": proposal["id"], "text": "Новый текст", "topics": ["Город"]}),
        change(34, "proposal_edit", {"id": walk_up["id"], "status": "declined"}),
    ]
    coordinator += [
        change(35, "island_topics", {"island_id": island, "topics": ["Волонтёрство", "Город", "Экология"]}),
        change(36, "proposal_edit", {"id": proposal["id"], "status": "shortlisted", "consent": False}),
    ]
    def body(changes, protocol=6):
        return json.dumps({"protocol": protocol, "event_id": EVENT, "changes": changes}, ensure_ascii=False).encode()
    # mode: bits 0-1 encoding (0 plain, 1 the target gzips), bits 2-3 role
    # (0 volunteer, 1 host, 2 coordinator).
    write("sync_push", "volunteer", b"\x00" + body(volunteer))
    write("sync_push", "volunteer-gzip", b"\x01" + body(volunteer))
    write("sync_push", "host-checkin", b"\x04" + body([volunteer[2]]))
    write("sync_push", "host-proposals", b"\x04" + body(host[1:]))
    write("sync_push", "coordinator-proposals", b"\x08" + body(host + coordinator[-2:]))
    write("sync_push", "volunteer-proposal", b"\x00" + body(host[1:2]))
    write("sync_push", "coordinator", b"\x08" + body(coordinator))
    write("sync_push", "coordinator-gzip", b"\x09" + body(coordinator))
    write("sync_push", "empty", b"\x00" + body([]))
    write("sync_push", "wrong-version", b"\x00" + body([], 99))
    write("sync_push", "raw-gzip", b"\x02" + gzip.compress(body(volunteer[:2]), mtime=0))
    write("sync_push", "forged-device", b"\x00" + body([change(20, "checkin", checkin, device=OTHER)]))


def sync_pair():
    pair = {"code": "K7QM-2XWP", "device_id": DEVICE, "device_name": "Вход A, стойка 2"}
    write("sync_pair", "pair", b"\x00" + json.dumps(pair, ensure_ascii=False).encode())
    write("sync_pair", "pair-bootstrap", b"\x00" + json.dumps(dict(pair, event_id=EVENT)).encode())
    write("sync_pair", "pair-gzip", b"\x02" + gzip.compress(json.dumps(pair).encode(), mtime=0))
    write("sync_pair", "uri", b"\x01checkin://pair?server=http://10.0.0.5:8787&code=K7QM-2XWP")
    write("sync_pair", "uri-escaped", b"\x01checkin://pair?server=http%3A%2F%2F%D1%84%3A1&code=%41%42")


def scan_text():
    for i, text in enumerate(["T-000001", "Е-000001", "t-000002", "СЛФУИФФФФФ", "ck", "  T-000003\r\n",
                              "https://example.org/", "chupsheva", "\u0000T-000001", "ЙЦУКЕН.,"]):
        write("scan_text", f"text-{i}", bytes([i % 4]) + text.encode())
    write("scan_text", "cp1251", b"\x00" + "Иван Петров".encode("cp1251"))
    write("scan_text", "shift-jis", b"\x00" + "日本語のテキスト".encode("shift_jis"))


if __name__ == "__main__":
    for target in ["badge_token", "import_csv", "import_xlsx", "sync_push", "sync_pair", "scan_text"]:
        shutil.rmtree(os.path.join(HERE, target), ignore_errors=True)
    badge_token()
    import_csv()
    import_xlsx()
    sync_push()
    sync_pair()
    scan_text()
