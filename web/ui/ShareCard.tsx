// The share link of a transfer: read-only field, a Copy button, and a QR code
// for phones (made by the qrcode package as an SVG string, shown as an image).
import QRCode from "qrcode";
import { useEffect, useId, useRef, useState } from "react";

export function ShareCard({ link, showQr = true }: { readonly link: string; readonly showQr?: boolean }) {
  const inputRef = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<"idle" | "copied" | "failed">("idle");
  const [qr, setQr] = useState<string | null>(null);
  const id = useId();

  useEffect(() => {
    if (!showQr || !link) return;
    let live = true;
    QRCode.toString(link, { type: "svg", errorCorrectionLevel: "M", margin: 2 }).then(
      (svg) => {
        if (live) setQr(`data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`);
      },
      () => {
        if (live) setQr(null);
      },
    );
    return () => {
      live = false;
    };
  }, [link, showQr]);

  useEffect(() => {
    if (copied === "idle") return;
    const timer = setTimeout(() => setCopied("idle"), 2500);
    return () => clearTimeout(timer);
  }, [copied]);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(link);
      setCopied("copied");
    } catch {
      // No clipboard permission: select the text so Ctrl+C works.
      inputRef.current?.select();
      setCopied("failed");
    }
  };

  return (
    <div className="share-card">
      <div className="share-link">
        <label htmlFor={`${id}-link`}>Share link</label>
        <div className="row">
          <input id={`${id}-link`} ref={inputRef} type="text" readOnly value={link} onFocus={(e) => e.currentTarget.select()} />
          <button type="button" onClick={() => void copy()}>
            Copy link
          </button>
        </div>
        <p className="muted small" role="status" aria-live="polite">
          {copied === "copied" ? "Link copied." : copied === "failed" ? "Could not copy: the link is selected, press Ctrl+C." : "Anyone with this link can download while a page holding the files is open."}
        </p>
      </div>
      {showQr && qr ? <img className="qr" src={qr} width={148} height={148} alt="QR code of the share link" /> : null}
    </div>
  );
}
