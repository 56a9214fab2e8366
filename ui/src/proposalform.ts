// The proposal form at an island's stand, made for a busy stand: keyboard
// only (Alt+1…9 toggle topics, Alt+S consent, Ctrl+Enter saves, Esc closes
// and keeps the draft), the author already filled in after a badge scan,
// found by name, or typed for a person without a badge. Every change is
// kept on disk as a draft (the app writes it atomically), so a restart or a
// crash of the app loses nothing typed.

import { api } from "./api";
import { clear, h } from "./dom";
import { t } from "./i18n";
import { modal } from "./modal";
import { errorText, toast } from "./state";
import type { ProposalAuthor, ProposalDraft, ProposalForm, ProposalRow } from "./types";

export interface FormOptions {
  islandId: string;
  topics: string[];
  /** The author after a badge scan: id and the name to show. */
  author?: { attendee_id: string; label: string } | null;
  /** Edit this proposal instead of adding one. */
  existing?: ProposalRow | null;
  /** A draft left by an earlier session. */
  restored?: ProposalDraft | null;
  onSaved: (row: ProposalRow) => void;
  onClose?: () => void;
}

export function openProposalForm(o: FormOptions): void {
  const ex = o.existing ?? null;
  const d = o.restored ?? null;
  const form: ProposalForm = d?.form ?? {
    island_id: o.islandId,
    author: ex ? { ...ex.author } : o.author ? { attendee_id: o.author.attendee_id } : {},
    title: ex?.title ?? "",
    text: ex?.text ?? "",
    topics: ex ? [...ex.topics] : [],
    consent: ex?.consent ?? false,
  };
  let authorLabel = d?.author_label ?? (ex ? ex.author_name : o.author?.label ?? "");
  const editing = d?.editing ?? ex?.id ?? null;

  let draftTimer = 0;
  const keepDraft = () => {
    clearTimeout(draftTimer);
    draftTimer = window.setTimeout(() => {
      void api.saveProposalDraft({ form, author_label: authorLabel, editing }).catch(() => {});
    }, 200);
  };

  // ---- author ----
  const authorBox = h("div", { class: "prop-author", testid: "prop-author" });
  const drawAuthor = () => {
    if (form.author.attendee_id) {
      clear(
        authorBox,
        h("span", { class: "chip author", testid: "prop-author-name" }, authorLabel),
        h("button", { class: "ghost", on: { click: () => { form.author = {}; authorLabel = ""; drawAuthor(); keepDraft(); } } }, "×"),
      );
      return;
    }
    if (form.author.name !== undefined && form.author.name !== null) {
      const f = (key: keyof ProposalAuthor, ph: string, testid: string) => {
        const i = h("input", { placeholder: ph, testid, value: (form.author[key] as string | null | undefined) ?? "" });
        i.addEventListener("input", () => { (form.author as Record<string, string>)[key] = i.value; keepDraft(); });
        return i;
      };
      clear(authorBox, f("name", t("prop.name"), "prop-name"), f("organization", t("prop.org"), "prop-org"), f("contact", t("prop.contact"), "prop-contact"));
      return;
    }
    const q = h("input", { placeholder: t("prop.author_search"), testid: "prop-author-search", autocomplete: "off" });
    const found = h("div", { class: "prop-found" });
    let seq = 0;
    q.addEventListener("input", async () => {
      const n = ++seq;
      if (!q.value.trim()) return clear(found);
      try {
        const rows = await api.search(q.value, 6);
        if (n !== seq) return;
        clear(found, ...rows.map((r) =>
          h("button", {
            class: "choice", testid: "prop-author-pick",
            on: { click: () => { form.author = { attendee_id: r.id }; authorLabel = r.full_name; drawAuthor(); keepDraft(); title.focus(); } },
          }, [r.full_name, r.organization].filter(Boolean).join(" · ")),
        ));
      } catch {
        clear(found);
      }
    });
    clear(
      authorBox,
      q,
      h("button", { class: "ghost", testid: "prop-no-badge", on: { click: () => { form.author = { name: "" }; drawAuthor(); keepDraft(); } } }, t("prop.no_badge")),
      found,
    );
  };

  // ---- text ----
  const title = h("input", { testid: "prop-title", placeholder: t("prop.name_title"), value: form.title, attrs: { maxlength: "300" } });
  title.addEventListener("input", () => { form.title = title.value; keepDraft(); });
  const text = h("textarea", { testid: "prop-text", placeholder: t("prop.text"), attrs: { rows: "6", maxlength: "10000" } }) as HTMLTextAreaElement;
  text.value = form.text;
  text.addEventListener("input", () => { form.text = text.value; keepDraft(); });

  // ---- topics and consent ----
  const topicsBox = h("div", { class: "choices", testid: "prop-topics" });
  const drawTopics = () =>
    clear(
      topicsBox,
      ...(o.topics.length
        ? o.topics.map((tp, i) =>
            h("button", {
              class: `choice ${form.topics.includes(tp) ? "selected" : ""}`,
              testid: `prop-topic-${i + 1}`,
              on: { click: () => toggleTopic(i) },
            }, i < 9 ? `${i + 1} · ${tp}` : tp))
        : [h("span", { class: "muted" }, t("prop.no_topics"))]),
    );
  const toggleTopic = (i: number) => {
    const tp = o.topics[i];
    if (!tp) return;
    form.topics = form.topics.includes(tp) ? form.topics.filter((x) => x !== tp) : [...form.topics, tp];
    drawTopics();
    keepDraft();
  };
  const consent = h("input", { type: "checkbox", testid: "prop-consent", checked: form.consent });
  consent.addEventListener("change", () => { form.consent = consent.checked; keepDraft(); });

  const msg = h("div", { class: "warn", testid: "prop-msg" });
  let saving = false;
  const save = async () => {
    if (saving) return;
    saving = true;
    try {
      const row = editing
        ? await api.editProposal(editing, { author: form.author, title: form.title, text: form.text, topics: form.topics, consent: form.consent })
        : await api.addProposal(form);
      clearTimeout(draftTimer);
      await api.discardProposalDraft().catch(() => {});
      close();
      toast(t("prop.saved"));
      o.onSaved(row);
    } catch (e) {
      msg.textContent = errorText(e);
    } finally {
      saving = false;
    }
  };
  const onKey = (e: KeyboardEvent) => {
    if (e.ctrlKey && e.key === "Enter") {
      e.preventDefault();
      void save();
    } else if (e.altKey && /^[1-9]$/.test(e.key)) {
      e.preventDefault();
      toggleTopic(Number(e.key) - 1);
    } else if (e.altKey && (e.code === "KeyS")) {
      e.preventDefault();
      consent.checked = !consent.checked;
      form.consent = consent.checked;
      keepDraft();
    }
  };
  const body = h(
    "div",
    { class: "form proposal-form" },
    d ? h("div", { class: "muted", testid: "prop-restored" }, t("prop.draft_restored")) : null,
    h("div", { class: "label" }, t("prop.author")),
    authorBox,
    title,
    text,
    h("div", { class: "label" }, t("prop.topics")),
    topicsBox,
    h("label", { class: "check" }, consent, t("prop.consent")),
    msg,
    h(
      "div",
      { class: "actions" },
      h("button", { class: "ghost", testid: "prop-discard", on: { click: async () => { clearTimeout(draftTimer); await api.discardProposalDraft().catch(() => {}); close(); } } }, t("prop.discard")),
      h("button", { class: "ghost", testid: "prop-later", on: { click: () => close() } }, t("prop.later")),
      h("button", { class: "primary", testid: "prop-save", on: { click: () => void save() } }, t("prop.save")),
    ),
  );
  body.addEventListener("keydown", onKey);
  const closeModal = modal(editing ? t("prop.edit_title") : t("prop.form_title"), body, "proposal-dialog");
  const close = () => {
    closeModal();
    o.onClose?.();
  };
  drawAuthor();
  drawTopics();
  keepDraft();
  setTimeout(() => (form.author.attendee_id || form.author.name !== undefined ? title : authorBox.querySelector("input") ?? title).focus(), 0);
}
