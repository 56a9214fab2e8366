//! Exports: a report's table written as CSV (UTF-8 with BOM, so Excel shows
//! Cyrillic correctly) or XLSX (rust_xlsxwriter), and the one-page HTML
//! summary of a day with its charts.

use std::io::Write;
use std::path::Path;

use rust_xlsxwriter::{Format, Workbook};
use serde::Serialize;

use checkin_core::error::{CoreError, Result};
pub use checkin_core::reports::{Lang, Report, Table};
use checkin_core::stats::{DayStats, Stats};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Csv,
    Xlsx,
}

impl ExportFormat {
    pub fn parse(s: &str) -> Option<ExportFormat> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Some(ExportFormat::Csv),
            "xlsx" => Some(ExportFormat::Xlsx),
            _ => None,
        }
    }
}
/// Writing a [`Table`]: CSV, XLSX, or a file of either.
pub trait TableWriter {
    /// CSV with a UTF-8 BOM and `;`-free comma separation, every field quoted when needed.
    fn write_csv(&self, out: impl Write) -> Result<()>;
    /// XLSX bytes: bold frozen header row, autofilter, fitted column widths.
    fn to_xlsx(&self) -> Result<Vec<u8>>;
    /// The table in `format` at `path`, flushed to disk (CSV).
    fn save(&self, path: &Path, format: ExportFormat) -> Result<()>;
}

impl TableWriter for Table {
    fn write_csv(&self, mut out: impl Write) -> Result<()> {
        out.write_all(b"\xEF\xBB\xBF")?;
        let mut w = csv::Writer::from_writer(out);
        let map = |e: csv::Error| CoreError::Export(e.to_string());
        w.write_record(&self.headers).map_err(map)?;
        for r in &self.rows {
            w.write_record(r).map_err(map)?;
        }
        w.flush()?;
        Ok(())
    }

    fn to_xlsx(&self) -> Result<Vec<u8>> {
        let map = |e: rust_xlsxwriter::XlsxError| CoreError::Export(e.to_string());
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        let title: String = self
            .title
            .chars()
            .filter(|c| !"[]:*?/\\".contains(*c))
            .take(31)
            .collect();
        if !title.is_empty() {
            ws.set_name(&title).map_err(map)?;
        }
        let bold = Format::new().set_bold();
        for (c, h) in self.headers.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, h, &bold).map_err(map)?;
        }
        for (r, row) in self.rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                ws.write_string(r as u32 + 1, c as u16, v).map_err(map)?;
            }
        }
        ws.set_freeze_panes(1, 0).map_err(map)?;
        if !self.headers.is_empty() {
            ws.autofilter(0, 0, self.rows.len() as u32, self.headers.len() as u16 - 1)
                .map_err(map)?;
        }
        ws.autofit();
        wb.save_to_buffer().map_err(map)
    }

    fn save(&self, path: &Path, format: ExportFormat) -> Result<()> {
        let map = |e: std::io::Error| CoreError::Export(format!("{}: {e}", path.display()));
        match format {
            ExportFormat::Csv => {
                let f = std::fs::File::create(path).map_err(map)?;
                let mut buf = std::io::BufWriter::new(f);
                self.write_csv(&mut buf)?;
                buf.flush().map_err(map)?;
                buf.get_ref().sync_all().map_err(map)?;
            }
            ExportFormat::Xlsx => std::fs::write(path, self.to_xlsx()?).map_err(map)?,
        }
        Ok(())
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A bar chart as inline SVG: one bar per label.
fn svg_bars(bars: &[(String, u64)], color: &str) -> String {
    let (w, h, pad) = (640.0, 160.0, 24.0);
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1) as f64;
    let n = bars.len().max(1) as f64;
    let bw = (w - 2.0 * pad) / n;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{}\" viewBox=\"0 0 {w} {}\" role=\"img\">",
        h + 20.0,
        h + 20.0
    );
    out.push_str(&format!(
        "<text x=\"2\" y=\"12\" font-size=\"10\">{}</text>",
        max as u64
    ));
    for (i, (label, v)) in bars.iter().enumerate() {
        let bh = (h - pad) * (*v as f64) / max;
        let x = pad + i as f64 * bw;
        out.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"{color}\"><title>{} — {v}</title></rect>",
            h - bh,
            (bw - 1.0).max(1.0),
            esc(label)
        ));
        let every = (bars.len() / 12).max(1);
        if i % every == 0 {
            out.push_str(&format!(
                "<text x=\"{x:.1}\" y=\"{}\" font-size=\"9\">{}</text>",
                h + 14.0,
                esc(label)
            ));
        }
    }
    out.push_str("</svg>");
    out
}

/// The one-page summary of a day: key figures, categories, arrivals per 15
/// minutes per entrance and visitors per hour per zone as inline SVG charts,
/// devices. A self-contained HTML file without names.
pub fn summary_html(stats: &Stats, day: &DayStats, lang: Lang) -> String {
    let ru = lang == Lang::Ru;
    let t = |r: &'static str, e: &'static str| if ru { r } else { e };
    let mut h = String::new();
    h.push_str(&format!(
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{} — {}</title>\
         <style>body{{font-family:sans-serif;max-width:720px;margin:16px auto;font-size:12px}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}}\
         td:first-child,th:first-child{{text-align:left}}h2{{font-size:14px;margin:12px 0 4px}}\
         .kpi span{{display:inline-block;margin-right:16px;font-size:16px}}@media print{{body{{margin:0}}}}</style>\
         </head><body>",
        if ru { "ru" } else { "en" },
        esc(&stats.event_name),
        day.day
    ));
    h.push_str(&format!(
        "<h1 style=\"font-size:18px\">{} — {}</h1><div class=\"kpi\">\
         <span>{}: <b>{}</b> / {}</span><span>{}: <b>{}</b></span><span>{}: <b>{}</b></span></div>",
        esc(&stats.event_name),
        day.day.format("%d.%m.%Y"),
        t("Пришли / ожидались", "Checked in / expected"),
        day.checked_in,
        day.expected,
        t("Не пришли", "No-shows"),
        day.no_shows,
        t("Повторные проходы", "Duplicates caught"),
        day.duplicates
    ));
    h.push_str(&format!(
        "<h2>{}</h2><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        t("По категориям", "By category"),
        t("Категория", "Category"),
        t("Пришли", "Checked in"),
        t("Ожидались", "Expected"),
        t("Не пришли", "No-shows")
    ));
    for c in &day.categories {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(if ru { &c.label_ru } else { &c.label_en }),
            c.checked_in,
            c.expected,
            c.no_shows
        ));
    }
    h.push_str("</table>");
    for e in &day.entrances {
        let (Some(first), Some(last)) = (e.quarters.first(), e.quarters.last()) else {
            continue;
        };
        let bars: Vec<(String, u64)> = (first.minute..=last.minute)
            .step_by(15)
            .map(|m| {
                let v = e
                    .quarters
                    .iter()
                    .find(|q| q.minute == m)
                    .map(|q| q.people)
                    .unwrap_or(0);
                (format!("{:02}:{:02}", m / 60, m % 60), v)
            })
            .collect();
        h.push_str(&format!(
            "<h2>{} — {} ({})</h2>{}",
            t("Приход за 15 минут", "Arrivals per 15 minutes"),
            esc(&e.name),
            e.people,
            svg_bars(&bars, "#1565c0")
        ));
    }
    if !day.zones.is_empty() {
        h.push_str(&format!(
            "<h2>{}</h2><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            t("Зоны", "Zones"),
            t("Зона", "Zone"),
            t("Входы", "Entries"),
            t("Уникальные", "Unique visitors"),
            t("Повторные", "Repeat visits"),
            t("Сейчас внутри", "Inside now"),
            t("Пик", "Peak"),
            t("Медиана, мин", "Median stay, min")
        ));
        for z in &day.zones {
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&z.name),
                z.entries,
                z.unique_visitors,
                z.repeat_visits,
                z.occupancy_now,
                z.peak_occupancy,
                z.dwell_median_secs
                    .map(|s| (s / 60).to_string())
                    .unwrap_or_default()
            ));
        }
        h.push_str("</table>");
    }
    let pr = &day.proposals;
    if pr.total > 0 {
        h.push_str(&format!(
            "<h2>{} — {}</h2><table><tr><th>{}</th><th>{}</th></tr>",
            t("Предложения", "Proposals"),
            pr.total,
            t("Остров", "Island"),
            t("Предложений", "Proposals")
        ));
        for i in &pr.islands {
            h.push_str(&format!("<tr><td>{}</td><td>{}</td></tr>", esc(&i.name), i.total));
        }
        h.push_str("</table>");
        if !pr.topics.is_empty() {
            h.push_str(&format!(
                "<table><tr><th>{}</th><th>{}</th></tr>",
                t("Тема", "Topic"),
                t("Предложений", "Proposals")
            ));
            for tc in &pr.topics {
                h.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td></tr>",
                    esc(&tc.topic),
                    tc.count
                ));
            }
            h.push_str("</table>");
        }
        let statuses: Vec<String> = pr
            .statuses
            .iter()
            .map(|sc| {
                let name = match sc.status {
                    checkin_core::model::ProposalStatus::New => t("новые", "new"),
                    checkin_core::model::ProposalStatus::Shortlisted => t("в шорт-листе", "shortlisted"),
                    checkin_core::model::ProposalStatus::Presented => t("представлены", "presented"),
                    checkin_core::model::ProposalStatus::Declined => t("отклонены", "declined"),
                };
                format!("{name}: {}", sc.count)
            })
            .collect();
        h.push_str(&format!("<p>{}</p>", statuses.join(" · ")));
    }
    for z in &day.zones {
        let (Some(first), Some(last)) = (z.hours.first(), z.hours.last()) else {
            continue;
        };
        let bars: Vec<(String, u64)> = (first.hour..=last.hour)
            .map(|hr| {
                let v = z
                    .hours
                    .iter()
                    .find(|x| x.hour == hr)
                    .map(|x| x.entries)
                    .unwrap_or(0);
                (format!("{hr:02}:00"), v)
            })
            .collect();
        h.push_str(&format!(
            "<h2>{} — {}</h2>{}",
            t("Посетители за час", "Visitors per hour"),
            esc(&z.name),
            svg_bars(&bars, "#2e7d32")
        ));
    }
    h.push_str(&format!(
        "<h2>{}</h2><table><tr><th>{}</th><th>{}</th><th>{}</th></tr>",
        t("Устройства", "Devices"),
        t("Устройство", "Device"),
        t("Отметки", "Check-ins"),
        t("Пропущено на входе", "Admissions")
    ));
    for d in &day.devices {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&d.name),
            d.checkins,
            d.admissions
        ));
    }
    h.push_str(&format!(
        "</table><p style=\"color:#777\">{} {}</p></body></html>",
        t("Сформировано", "Generated"),
        stats.generated_at.format("%Y-%m-%d %H:%M UTC")
    ));
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_starts_with_bom_and_keeps_cyrillic() {
        let t = Table {
            title: "t".into(),
            headers: vec!["ФИО".into(), "Организация".into()],
            rows: vec![vec!["Чупшева Анна".into(), "ООО \"Ромашка\", отдел".into()]],
        };
        let mut buf = Vec::new();
        t.write_csv(&mut buf).unwrap();
        assert!(buf.starts_with(b"\xEF\xBB\xBF"));
        let text = String::from_utf8(buf[3..].to_vec()).unwrap();
        assert_eq!(
            text,
            "ФИО,Организация\nЧупшева Анна,\"ООО \"\"Ромашка\"\", отдел\"\n"
        );
    }

    #[test]
    fn xlsx_reads_back_with_calamine() {
        use calamine::{Reader, Xlsx};
        let t = Table {
            title: "Посещаемость".into(),
            headers: vec!["ФИО".into(), "Пришёл".into()],
            rows: vec![
                vec!["Чупшева Анна".into(), "09:14 (Вход A)".into()],
                vec!["Ilya Ivanov".into(), String::new()],
            ],
        };
        let bytes = t.to_xlsx().unwrap();
        let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(wb.sheet_names(), vec!["Посещаемость".to_string()]);
        let range = wb.worksheet_range("Посещаемость").unwrap();
        let cells: Vec<Vec<String>> = range
            .rows()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect();
        assert_eq!(cells[0], vec!["ФИО", "Пришёл"]);
        assert_eq!(cells[1], vec!["Чупшева Анна", "09:14 (Вход A)"]);
        assert_eq!(cells[2][0], "Ilya Ivanov");
    }
}

#[cfg(test)]
mod report_tests {
    use super::*;
    use checkin_core::demo;
    use checkin_core::model::{Device, Direction, Method, new_id};
    use checkin_core::store::Store;
    use chrono::{DateTime, TimeZone, Utc};

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 2, h - 3, m, 0).unwrap()
    }

    fn xlsx_cells(bytes: Vec<u8>) -> Vec<Vec<String>> {
        use calamine::{Reader, Xlsx};
        let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let name = wb.sheet_names()[0].clone();
        let range = wb.worksheet_range(&name).unwrap();
        range
            .rows()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect()
    }

    fn csv_cells(t: &Table) -> Vec<Vec<String>> {
        let mut buf = Vec::new();
        t.write_csv(&mut buf).unwrap();
        assert!(buf.starts_with(b"\xEF\xBB\xBF"));
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(&buf[3..]);
        r.records()
            .map(|rec| rec.unwrap().iter().map(String::from).collect())
            .collect()
    }

    #[test]
    fn reports_read_back_the_same() {
        let now = at(8, 0);
        let dev = Device {
            id: new_id(now),
            name: "Стойка 1".into(),
        };
        let mut s = Store::open_in_memory(dev, now).unwrap();
        demo::create_event(&mut s, 10, now).unwrap();
        let day = s.day_of(now).unwrap();
        let door = s.location("Вход A").unwrap();
        let island = s.location("Остров 1").unwrap();
        let people = s.attendees().unwrap();
        for a in people.iter().take(3) {
            s.check_in_attendee(a.id, door.id, Direction::In, Method::Search, at(9, 5))
                .unwrap();
        }
        s.check_in_attendee(people[0].id, island.id, Direction::In, Method::Scan, at(10, 0))
            .unwrap();
        s.count_anonymous(island.id, Direction::In, at(10, 30)).unwrap();
        s.count_anonymous(island.id, Direction::Out, at(11, 10)).unwrap();

        let no_shows = s.no_shows_table(day, Lang::Ru).unwrap();
        assert_eq!(no_shows.rows.len(), 7);
        let back = csv_cells(&no_shows);
        assert_eq!(back[0], no_shows.headers);
        assert_eq!(&back[1..], &no_shows.rows[..]);
        assert_eq!(xlsx_cells(no_shows.to_xlsx().unwrap())[1..], no_shows.rows[..]);

        let named = s
            .zone_visits_table(Some(day), Lang::Ru, false, at(12, 0))
            .unwrap();
        assert_eq!(named.rows.len(), 3);
        assert_eq!(named.rows[0][4], people[0].full_name);
        assert_eq!(named.rows[1][4], "аноним");
        let back = xlsx_cells(named.to_xlsx().unwrap());
        assert_eq!(back[0], named.headers);
        assert_eq!(&back[1..], &named.rows[..]);

        let anon = s.zone_visits_table(Some(day), Lang::En, true, at(12, 0)).unwrap();
        let expected: Vec<Vec<String>> = [
            ["2026-06-02", "Остров 1", "10:00", "2", "0"],
            ["2026-06-02", "Остров 1", "11:00", "0", "1"],
        ]
        .iter()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
        assert_eq!(anon.rows, expected);
        assert!(
            anon.rows
                .iter()
                .flatten()
                .all(|c| people.iter().all(|p| !c.contains(&p.full_name)))
        );
        assert_eq!(&csv_cells(&anon)[1..], &expected[..]);

        let stats = s.stats(Some(day), at(12, 0)).unwrap();
        let html = summary_html(&stats, &stats.days[0], Lang::Ru);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("Приход за 15 минут — Вход A (3)"));
        assert!(html.contains("Посетители за час — Остров 1"));
        assert_eq!(html.matches("<svg").count(), 2);
        assert!(html.contains("Стойка 1"));
        assert!(!html.contains(&people[0].full_name));
        assert!(Report::Attendance.is_personal(true));
        assert!(!Report::Zones.is_personal(true) && Report::Zones.is_personal(false));
    }
}
