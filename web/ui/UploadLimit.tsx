// The upload limit of each transfer, in KiB/s (empty: no limit). Applied as it is
// typed (every valid value), remembered across reloads by the store.
import { useId, useState } from "react";
import { useActions, useSwarm } from "../state/context.tsx";

export const KIB = 1024;

export type UploadLimitInput = { readonly ok: true; readonly bytesPerS: number | null } | { readonly ok: false; readonly message: string };

/** The field's text as bytes/s: empty is no limit; otherwise a number of KiB/s above 0. */
export function parseUploadLimit(text: string): UploadLimitInput {
  const t = text.trim().replace(",", ".");
  if (t === "") return { ok: true, bytesPerS: null };
  if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(t)) return { ok: false, message: `“${text.trim()}” is not a number. Enter the KiB/s to allow, like 512, or leave the field empty for no limit.` };
  const kib = Number(t);
  if (kib < 0) return { ok: false, message: "The upload limit cannot be negative. Enter the KiB/s to allow, or leave the field empty for no limit." };
  const bytesPerS = Math.round(kib * KIB);
  if (bytesPerS <= 0) return { ok: false, message: "An upload limit of 0 would stop sharing altogether. Enter at least 1 KiB/s, or leave the field empty for no limit." };
  return { ok: true, bytesPerS };
}

function kibText(bytesPerS: number | null): string {
  if (bytesPerS === null) return "";
  const kib = bytesPerS / KIB;
  return Number.isInteger(kib) ? String(kib) : kib.toFixed(2).replace(/\.?0+$/, "");
}

export function UploadLimit() {
  const actions = useActions();
  const applied = useSwarm((s) => s.uploadLimitBytesPerS);
  const [text, setText] = useState(() => kibText(applied));
  const [error, setError] = useState<string | null>(null);
  const id = useId();
  const onChange = (value: string) => {
    setText(value);
    const parsed = parseUploadLimit(value);
    if (!parsed.ok) {
      setError(parsed.message);
      return;
    }
    setError(null);
    if (parsed.bytesPerS !== applied) actions.setUploadLimit(parsed.bytesPerS);
  };
  return (
    <form className="upload-limit" aria-label="Settings" onSubmit={(e) => e.preventDefault()}>
      <label htmlFor={`${id}-input`}>Upload limit (KiB/s)</label>
      <input
        id={`${id}-input`}
        type="text"
        inputMode="decimal"
        autoComplete="off"
        placeholder="No limit"
        value={text}
        aria-invalid={error !== null}
        aria-describedby={`${id}-status`}
        onChange={(e) => onChange(e.currentTarget.value)}
      />
      <span id={`${id}-status`} className={error === null ? "small muted" : "small field-error"} role={error === null ? undefined : "alert"}>
        {error ?? (applied === null ? "No limit" : `Each transfer uploads at most ${kibText(applied)} KiB/s`)}
      </span>
    </form>
  );
}
