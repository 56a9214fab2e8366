// A distinct sound for each verdict class, made with WebAudio (no files).
// green: one high clear beep; amber: two mid beeps; red: a low buzz.

import type { VerdictClass } from "./verdict";

let ctx: AudioContext | null = null;

function audio(): AudioContext | null {
  try {
    ctx ??= new AudioContext();
    return ctx;
  } catch {
    return null; // no audio device: silence, never an error at the desk
  }
}

function tone(a: AudioContext, freq: number, start: number, dur: number, type: OscillatorType, gain = 0.25) {
  const osc = a.createOscillator();
  const g = a.createGain();
  osc.type = type;
  osc.frequency.value = freq;
  g.gain.setValueAtTime(gain, a.currentTime + start);
  g.gain.exponentialRampToValueAtTime(0.001, a.currentTime + start + dur);
  osc.connect(g).connect(a.destination);
  osc.start(a.currentTime + start);
  osc.stop(a.currentTime + start + dur + 0.02);
}

/** The tones of each class: [frequency Hz, start s, duration s, wave]. */
export const TONES: Record<VerdictClass, [number, number, number, OscillatorType][]> = {
  green: [[1320, 0, 0.14, "sine"]],
  amber: [[660, 0, 0.12, "triangle"], [660, 0.18, 0.12, "triangle"]],
  red: [[180, 0, 0.5, "square"]],
};

/** Attention (a note for the desk): three rising tones, unlike any verdict. */
export const ATTENTION_TONES: [number, number, number, OscillatorType][] = [
  [880, 0, 0.1, "sine"], [1100, 0.13, 0.1, "sine"], [1480, 0.26, 0.22, "sine"],
];

export function playAttention(): void {
  const a = audio();
  if (!a) return;
  if (a.state === "suspended") void a.resume();
  for (const [f, s, d, w] of ATTENTION_TONES) tone(a, f, s, d, w, 0.3);
}

export function play(cls: VerdictClass): void {
  const a = audio();
  if (!a) return;
  if (a.state === "suspended") void a.resume();
  for (const [f, s, d, w] of TONES[cls]) tone(a, f, s, d, w, cls === "red" ? 0.12 : 0.25);
}
