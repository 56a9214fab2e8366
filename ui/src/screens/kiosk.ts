// Self-service kiosk: a participant scans the QR of their registration
// e-mail (hand scanner or camera) and takes their badge. Large ru/en
// instructions; no search and nobody else's data: on admission the person's
// own name and category while the badge prints, anything else a short,
// polite reason and the way to a staffed desk. The screen goes back to the
// instructions by itself. Leaving needs the coordinator's PIN.

import { api, ApiError } from "../api";
import { afterPaint, clear, h } from "../dom";
import { categoryLabel, t } from "../i18n";
import { modal } from "../modal";
import { troubleText } from "../printing";
import { play } from "../sound";
import { app, errorText, info, location, perf, settings } from "../state";
import { scanField } from "../scanfield";
import type { ScanOutcome } from "../types";
import { viewfinder } from "../viewfinder";
import { kioskReason } from "../verdict";

/** How long a person's own screen stays, ms. */
const SHOWN_MS = 9000;

export function kioskScreen(): { el: HTMLElement; dispose: () => void } {
  const loc = location(settings().location_id)!;
  const stage = h("section", { class: "kiosk-stage", testid: "kiosk-stage" });
  const field = scanField((payload) => void doScan(payload));
  const camera = viewfinder((payload) => void doScan(payload), () => field.focus());
  let timer = 0;
  let busy = false;

  const welcome = () => {
    clearTimeout(timer);
    stage.dataset.state = "welcome";
    clear(
      stage,
      h("div", { class: "kiosk-title" }, t("kiosk.title")),
      h("div", { class: "kiosk-title en" }, t("kiosk.title_en")),
      h(
        "ol",
        { class: "kiosk-steps" },
        ...([1, 2, 3] as const).map((n) =>
          h(
            "li",
            {},
            h("span", { class: "n" }, String(n)),
            h("span", {}, t(`kiosk.step${n}`), h("br"), h("span", { class: "en" }, t(`kiosk.step${n}_en`))),
          ),
        ),
      ),
    );
  };
  const later = (ms = SHOWN_MS) => {
    clearTimeout(timer);
    timer = window.setTimeout(() => { welcome(); field.focus(); }, ms);
  };

  /** The person's own screen: name, category and how the badge is doing. */
  const admitted = (o: ScanOutcome) => {
    const a = o.attendee!;
    const badge = h("div", { class: "kiosk-badge", testid: "kiosk-badge" }, t("kiosk.printing"));
    stage.dataset.state = "admitted";
    clear(
      stage,
      h("div", { class: "kiosk-title" }, t("kiosk.welcome")),
      h("div", { class: "kiosk-name", testid: "kiosk-name" }, a.full_name),
      h("div", { class: "kiosk-category" },
        h("span", { class: "chip", style: `background:${a.category_color ?? "#607d8b"}` }, categoryLabel(a))),
      badge,
    );
    return badge;
  };

  /** Anything but a first badge: the reason, and where to go. */
  const staffed = (why: string) => {
    stage.dataset.state = "staffed";
    clear(
      stage,
      h("div", { class: "kiosk-title" }, t("kiosk.staffed")),
      h("div", { class: "kiosk-why", testid: "kiosk-why" }, why),
    );
    play("amber");
    later();
  };

  async function doScan(payload: string) {
    if (busy) return;
    busy = true;
    clearTimeout(timer);
    try {
      const o = await api.scan(payload, loc.id, "in");
      const why = kioskReason(o);
      if (why || !o.attendee) {
        staffed(why ?? t("kiosk.why.unknown"));
        return;
      }
      const badge = admitted(o);
      play("green");
      try {
        const r = await api.printAtAdmission(o.attendee.id);
        if (r.state === "already") {
          staffed(t("kiosk.why.already"));
          return;
        }
        if (r.state !== "printed") {
          // No CUPS here: a viewer or a saved file is no badge for a visitor.
          staffed(t("kiosk.why.printer"));
          return;
        }
        badge.dataset.state = "done";
        badge.textContent = t("kiosk.take");
      } catch (e) {
        // The staff see the printer's words; the person a polite reason.
        console.warn("kiosk print:", troubleText(e));
        staffed(t("kiosk.why.printer"));
        return;
      }
      later();
    } catch (e) {
      staffed(e instanceof ApiError ? t("kiosk.why.unknown") : errorText(e));
    } finally {
      busy = false;
      field.focus();
    }
  }

  const leave = () => {
    const pin = h("input", {
      type: "password",
      testid: "kiosk-pin",
      autocomplete: "off",
      placeholder: t("kiosk.pin"),
      attrs: { inputmode: "numeric" },
    });
    const msg = h("div", { class: "warn", testid: "kiosk-pin-msg" });
    const go = async () => {
      try {
        await api.leaveKiosk(pin.value);
        close();
        app.info = await api.appInfo();
        app.rerender();
      } catch (e) {
        msg.textContent = e instanceof ApiError && e.code === "wrong_pin" ? t("kiosk.pin_wrong") : errorText(e);
        pin.value = "";
        pin.focus();
      }
    };
    pin.addEventListener("keydown", (e) => { if (e.key === "Enter") void go(); });
    const close = modal(
      t("kiosk.pin_title"),
      h(
        "div",
        { class: "form" },
        pin,
        msg,
        h(
          "div",
          { class: "actions" },
          h("button", { class: "ghost", on: { click: () => { close(); field.focus(); } } }, t("undo.cancel")),
          h("button", { class: "primary", testid: "kiosk-pin-go", on: { click: () => void go() } }, t("kiosk.pin_go")),
        ),
      ),
      "kiosk-pin-dialog",
    );
  };

  const el = h(
    "div",
    { class: "screen kiosk", testid: "kiosk" },
    h(
      "header",
      { class: "kiosk-top" },
      h("div", { class: "event" }, info().event.name),
      h("div", { class: "grow" }),
      h("button", { class: "ghost kiosk-leave", testid: "kiosk-leave", on: { click: leave } }, t("kiosk.leave")),
    ),
    h("main", {}, stage, h("div", { class: "kiosk-side" }, camera.el, field.el)),
  );
  welcome();
  field.focus();
  afterPaint(() => {
    if (perf.readyMs === null) {
      perf.readyMs = Date.now() - info().started_ms;
      void api.markReady("kiosk").catch(() => {});
    }
  });
  return {
    el,
    dispose() {
      clearTimeout(timer);
      field.dispose();
      camera.dispose();
    },
  };
}
