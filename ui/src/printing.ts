// Badge printing from the UI: ask Rust to render + print, then tell the
// volunteer what happened. A PDF opened in a viewer (no CUPS `lp`) is logged
// as printed only after the volunteer confirms it came out.

import { api } from "./api";
import { h } from "./dom";
import { t } from "./i18n";
import { modal } from "./modal";
import { errorText, toast } from "./state";
import type { PrintJob } from "./types";

export async function reportPrint(job: PrintJob): Promise<void> {
  if (job.sent === "printed") {
    toast(t("print.sent", { n: job.badges }));
    return;
  }
  if (job.sent === "saved") {
    toast(t("print.saved", { path: job.pdf }), "error");
    return;
  }
  await new Promise<void>((resolve) => {
    const close = modal(
      t("print.confirm_title"),
      h(
        "div",
        { class: "form" },
        h("div", {}, t("print.opened", { path: job.pdf })),
        h(
          "div",
          { class: "actions" },
          h("button", { class: "ghost", on: { click: () => { close(); resolve(); } } }, t("print.not_printed")),
          h(
            "button",
            {
              class: "primary",
              testid: "print-confirm",
              on: {
                click: async () => {
                  try {
                    await api.confirmPrinted(job.job);
                    toast(t("print.logged"));
                  } catch (e) {
                    toast(errorText(e), "error");
                  }
                  close();
                  resolve();
                },
              },
            },
            t("print.printed"),
          ),
        ),
      ),
      "print-dialog",
    );
  });
}

/** Print one person's badge and report; errors (e.g. no signing key) as a toast. */
export async function printBadge(attendeeId: string): Promise<void> {
  try {
    await reportPrint(await api.printBadge(attendeeId));
  } catch (e) {
    toast(errorText(e), "error");
  }
}
