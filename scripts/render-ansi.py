#!/usr/bin/env python3
"""Renders captured terminal text (tmux capture-pane -p -e: text with SGR colour sequences) into a
PNG: one framed, titled terminal per pane, panes in a row side by side, rows stacked.

Usage: render-ansi.py OUT.png --row PANE [PANE ...] [--row PANE ...]
  PANE is FILE:COLS:ROWS:CURSOR_X:CURSOR_Y:TITLE (CURSOR_X empty: no cursor is drawn).
Needs Pillow (Debian: python3-pil) and DejaVu Sans Mono (fonts-dejavu-core).
"""
import argparse
import re
import unicodedata

from PIL import Image, ImageDraw, ImageFont

FONT_DIR = "/usr/share/fonts/truetype/dejavu/"
FONT_SIZE = 14
LINE_HEIGHT = 17
PAD = 8  # inside a terminal, around the text
TITLE_HEIGHT = 26
GAP = 10  # between terminals and around the picture

# A dark theme; ANSI colours 0-15 tuned to read well on the background.
BG = (0x1D, 0x21, 0x29)
FG = (0xD4, 0xD7, 0xDD)
PICTURE_BG = (0x11, 0x14, 0x1A)
FRAME = (0x4C, 0x56, 0x6A)
TITLE_BG = (0x2E, 0x34, 0x40)
TITLE_FG = (0x88, 0xC0, 0xD0)
ANSI = [
    (0x3B, 0x42, 0x52), (0xE0, 0x6C, 0x75), (0x98, 0xC3, 0x79), (0xE5, 0xC0, 0x7B),
    (0x61, 0xAF, 0xEF), (0xC6, 0x78, 0xDD), (0x56, 0xB6, 0xC2), (0xD4, 0xD7, 0xDD),
    (0x5C, 0x63, 0x70), (0xFF, 0x7B, 0x86), (0xB5, 0xE8, 0x90), (0xFF, 0xD6, 0x8A),
    (0x8C, 0xC8, 0xFF), (0xE0, 0xA0, 0xFF), (0x7F, 0xDB, 0xE6), (0xFF, 0xFF, 0xFF),
]


def xterm256(n):
    """The xterm 256-colour palette: 16 ANSI colours, a 6x6x6 cube, a grey ramp."""
    if n < 16:
        return ANSI[n]
    if n < 232:
        n -= 16
        level = [0, 95, 135, 175, 215, 255]
        return (level[n // 36], level[n // 6 % 6], level[n % 6])
    grey = 8 + 10 * (n - 232)
    return (grey, grey, grey)


class Style:
    def __init__(self):
        self.reset()

    def reset(self):
        self.fg = None  # None: the default colour
        self.bg = None
        self.bold = False
        self.dim = False
        self.reverse = False

    def key(self):
        return (self.fg, self.bg, self.bold, self.dim, self.reverse)

    def apply(self, params):
        """Applies one SGR sequence's parameters (unknown ones are ignored, as terminals do)."""
        codes = [int(p) if p.isdigit() else 0 for p in re.split("[;:]", params)] if params else [0]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c == 0:
                self.reset()
            elif c == 1:
                self.bold = True
            elif c == 2:
                self.dim = True
            elif c == 22:
                self.bold = self.dim = False
            elif c == 7:
                self.reverse = True
            elif c == 27:
                self.reverse = False
            elif 30 <= c <= 37:
                self.fg = ANSI[c - 30]
            elif 90 <= c <= 97:
                self.fg = ANSI[c - 90 + 8]
            elif c == 39:
                self.fg = None
            elif 40 <= c <= 47:
                self.bg = ANSI[c - 40]
            elif 100 <= c <= 107:
                self.bg = ANSI[c - 100 + 8]
            elif c == 49:
                self.bg = None
            elif c in (38, 48) and i + 1 < len(codes):
                colour = None
                if codes[i + 1] == 5 and i + 2 < len(codes):
                    colour = xterm256(codes[i + 2] % 256)
                    i += 2
                elif codes[i + 1] == 2 and i + 4 < len(codes):
                    colour = tuple(min(v, 255) for v in codes[i + 2 : i + 5])
                    i += 4
                if c == 38:
                    self.fg = colour
                else:
                    self.bg = colour
            i += 1


# CSI sequences (SGR ends in m; others are skipped), OSC strings (e.g. hyperlinks), lone escapes.
ESCAPE = re.compile(r"\x1b\[([0-9;:?]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b.")


def cell_width(ch):
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def parse(text, cols, rows):
    """Returns rows of cells (char, style key); the style carries over line ends, as tmux emits
    a sequence only where the style changes."""
    style = Style()
    grid = []
    for line in text.split("\n")[:rows]:
        cells = []
        pos = 0
        for m in ESCAPE.finditer(line + "\x1b[ "):  # a sentinel so the tail is handled too
            for ch in line[pos : m.start()]:
                if ch < " " or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
                    continue  # controls and zero-width marks take no cell
                if len(cells) < cols:
                    cells.append((ch, style.key()))
                    if cell_width(ch) == 2:
                        cells.append(("", style.key()))  # the right half of a wide character
            pos = m.end()
            if m.group(2) == "m":
                style.apply(m.group(1))
        grid.append(cells)
    return grid


def mix(a, b, t):
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b))


class Fonts:
    def __init__(self):
        self.regular = ImageFont.truetype(FONT_DIR + "DejaVuSansMono.ttf", FONT_SIZE)
        self.bold = ImageFont.truetype(FONT_DIR + "DejaVuSansMono-Bold.ttf", FONT_SIZE)
        self.title = ImageFont.truetype(FONT_DIR + "DejaVuSansMono-Bold.ttf", FONT_SIZE + 1)
        # The exact advance, fractional: each glyph is placed on it, so columns line up.
        self.cell = self.regular.getlength("M" * 100) / 100
        ascent, descent = self.regular.getmetrics()
        self.baseline = (LINE_HEIGHT - (ascent + descent)) // 2 + ascent


def colours(key):
    fg, bg, bold, dim, reverse = key
    fg = fg or FG
    bg = bg or BG
    if reverse:
        fg, bg = bg, fg
    if dim:
        fg = mix(fg, bg, 0.45)
    return fg, bg, bold


def render_pane(spec, fonts, width=None):
    path, cols, rows, cx, cy, title = spec
    with open(path, encoding="utf-8", errors="replace") as f:
        grid = parse(f.read().rstrip("\n"), cols, rows)
    natural = round(cols * fonts.cell) + 2 * PAD + 2
    width = max(width or 0, natural)
    height = TITLE_HEIGHT + rows * LINE_HEIGHT + 2 * PAD + 2
    img = Image.new("RGB", (width, height), BG)
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, 0, width - 1, TITLE_HEIGHT], fill=TITLE_BG)
    for i, colour in enumerate([(0xBF, 0x61, 0x6A), (0xEB, 0xCB, 0x8B), (0xA3, 0xBE, 0x8C)]):
        x = 14 + i * 18
        draw.ellipse([x - 5, TITLE_HEIGHT // 2 - 5, x + 5, TITLE_HEIGHT // 2 + 5], fill=colour)
    draw.text((72, TITLE_HEIGHT // 2), title, font=fonts.title, fill=TITLE_FG, anchor="lm")
    draw.rectangle([0, 0, width - 1, height - 1], outline=FRAME)

    left = 1 + PAD
    top = TITLE_HEIGHT + 1 + PAD
    for r, cells in enumerate(grid):
        y = top + r * LINE_HEIGHT
        c = 0
        while c < len(cells):
            # A run: cells of one style, under one background rectangle.
            key = cells[c][1]
            end = c
            while end < len(cells) and cells[end][1] == key:
                end += 1
            fg, bg, bold = colours(key)
            x0 = left + c * fonts.cell
            x1 = left + end * fonts.cell
            if bg != BG:
                draw.rectangle([round(x0), y, round(x1) - 1, y + LINE_HEIGHT - 1], fill=bg)
            font = fonts.bold if bold else fonts.regular
            for i in range(c, end):
                ch = cells[i][0]
                if ch and ch != " ":
                    draw.text((left + i * fonts.cell, y + fonts.baseline), ch, font=font,
                              fill=fg, anchor="ls")
            c = end
    if cx is not None and cy < rows:
        x = round(left + cx * fonts.cell)
        y = top + cy * LINE_HEIGHT
        draw.rectangle([x, y + 1, x + round(fonts.cell) - 1, y + LINE_HEIGHT - 2],
                       fill=mix(FG, BG, 0.3))
    return img


def parse_spec(text):
    path, cols, rows, cx, cy, title = text.split(":", 5)
    cursor_x = int(cx) if cx else None
    return (path, int(cols), int(rows), cursor_x, int(cy or 0), title)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--row", nargs="+", action="append", required=True, type=parse_spec,
                    metavar="PANE")
    args = ap.parse_args()
    fonts = Fonts()

    def row_width(imgs):
        return sum(i.width for i in imgs) + GAP * (len(imgs) - 1)

    rows = [[render_pane(spec, fonts) for spec in row] for row in args.row]
    total = max(row_width(r) for r in rows)
    # A row narrower than the widest gets its last terminal widened, so the edges line up.
    for row, specs in zip(rows, args.row):
        short = total - row_width(row)
        if short > 0:
            row[-1] = render_pane(specs[-1], fonts, row[-1].width + short)

    height = sum(max(i.height for i in r) for r in rows) + GAP * (len(rows) - 1)
    picture = Image.new("RGB", (total + 2 * GAP, height + 2 * GAP), PICTURE_BG)
    y = GAP
    for row in rows:
        x = GAP
        for img in row:
            picture.paste(img, (x, y))
            x += img.width + GAP
        y += max(i.height for i in row) + GAP
    picture.save(args.out, optimize=True)
    print(f"wrote {args.out} ({picture.width}x{picture.height})")


if __name__ == "__main__":
    main()
