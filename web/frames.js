// Drawing once per frame, for the pages that redraw whenever something changes (the phone
// page, the sampling point's page): `schedule()` asks for one draw on the next animation
// frame, backed by a timer (a page in the background gets no frames), and `draw()` draws
// now, cancelling what was asked for. Plus the one text setter that leaves a node alone
// when its text is the same (no layout work, no flicker in screen readers).
//
//   const frames = new Frames(() => { ...draw the page... });
//   frames.schedule();   // soon
//   frames.draw();       // now

/** The background timer: a little longer than a frame at 4 per second. */
const FALLBACK_MS = 250;

export class Frames {
  constructor(draw) {
    this.paint = draw;
    this.frame = 0;
    this.timer = 0;
    this.draw = this.draw.bind(this);
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(this.draw);
    this.timer = setTimeout(this.draw, FALLBACK_MS);
  }

  draw() {
    cancelAnimationFrame(this.frame);
    clearTimeout(this.timer);
    this.frame = 0;
    this.timer = 0;
    this.paint();
  }
}

export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}
