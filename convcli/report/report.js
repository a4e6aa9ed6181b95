// convcli report: point at an output position and see the sum that makes it.
// Everything the page needs is inline (the JSON below the page); no request is ever made.
// The trace is computed here as convcli's engine.trace_position does it, in the same order and, for a
// float32 layer, rounded to float32 after every product and addition (Math.fround), so that the numbers
// are the ones `convcli run --trace ROW,COL --json` prints.
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("convcli-data").textContent);
  const G = D.geometry, H = D.held;
  const R = G.dtype === "float32" ? Math.fround : (v) => v;

  function decode(a) {
    const bin = atob(a.b64), bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    if (a.type === "u8") return bytes;
    return a.type === "f32" ? new Float32Array(bytes.buffer) : new Float64Array(bytes.buffer);
  }
  const X = decode(H.x), K = decode(H.kernel);
  const [xr0, xr1] = H.x.rows, [xc0, xc1] = H.x.cols, xw = xc1 - xc0, C = G.channels;
  const [kh, kw] = G.kernel_hw, cg = G.cg, nk = H.kernel.filters.length;
  const [ho, wo] = G.out_hw, [ih, iw] = G.in_hw;
  const filters = H.kernel.filters;

  // numpy's pairwise summation of a contiguous run (what products.sum(axis=(0, 1)) does for one channel)
  function pairwise(a, lo, n) {
    if (n < 8) {
      let s = -0.0;
      for (let i = 0; i < n; i++) s = R(s + a[lo + i]);
      return s;
    }
    if (n <= 128) {
      const r = [];
      for (let j = 0; j < 8; j++) r.push(a[lo + j]);
      let i = 8;
      for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] = R(r[j] + a[lo + i + j]);
      let s = R(R(R(r[0] + r[1]) + R(r[2] + r[3])) + R(R(r[4] + r[5]) + R(r[6] + r[7])));
      for (; i < n; i++) s = R(s + a[lo + i]);
      return s;
    }
    let n2 = Math.floor(n / 2);
    n2 -= n2 % 8;
    return R(pairwise(a, lo, n2) + pairwise(a, lo + n2, n - n2));
  }

  const ACT = {
    linear: (z) => z,
    relu: (z) => Math.max(z, 0),
    relu6: (z) => Math.min(Math.max(z, 0), 6),
    leaky_relu: (z) => (z >= 0 ? z : z * 0.2),
    elu: (z) => (z > 0 ? z : Math.expm1(Math.min(z, 0))),
    selu: (z) => 1.0507009873554805 * (z > 0 ? z : 1.6732632423543772 * Math.expm1(Math.min(z, 0))),
    sigmoid: (z) => { const e = Math.exp(-Math.abs(z)); return z >= 0 ? 1 / (1 + e) : e / (1 + e); },
    hard_sigmoid: (z) => Math.min(Math.max(z + 3, 0), 6) / 6,
    tanh: Math.tanh,
    softplus: (z) => Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))),
    softsign: (z) => z / (1 + Math.abs(z)),
    silu: (z) => z * ACT.sigmoid(z),
    swish: (z) => z * ACT.sigmoid(z),
    exponential: Math.exp,
  };
  const activate = (z) => R(ACT[G.activation](z));

  // Filter f's trace at output (row, col): the taps, the window, the kernel slice, the products, each
  // channel's partial sum; held=false when a tap inside the input lies outside what the page holds.
  function trace(f, row, col) {
    const g = Math.floor(f / (G.filters / G.groups)), slot = filters.indexOf(f);
    const rows = [], cols = [];
    for (let i = 0; i < kh; i++) rows.push(row * G.stride[0] - G.pads[0] + i * G.dilation[0]);
    for (let j = 0; j < kw; j++) cols.push(col * G.stride[1] - G.pads[2] + j * G.dilation[1]);
    let held = slot >= 0;
    const chans = [];
    for (let c = 0; c < cg; c++) {
      const ch = g * cg + c, patch = [], weights = [], products = [], flat = [];
      for (let i = 0; i < kh; i++) {
        const pr = [], wr = [], xr = [];
        for (let j = 0; j < kw; j++) {
          const r = rows[i], q = cols[j];
          let v = 0;
          if (r >= 0 && r < ih && q >= 0 && q < iw) {
            if (r < xr0 || r >= xr1 || q < xc0 || q >= xc1) { held = false; v = NaN; }
            else v = X[((r - xr0) * xw + (q - xc0)) * C + ch];
          }
          const w = slot >= 0 ? K[((i * kw + j) * cg + c) * nk + slot] : NaN;
          const p = R(v * w);
          pr.push(v); wr.push(w); xr.push(p); flat.push(p);
        }
        patch.push(pr); weights.push(wr); products.push(xr);
      }
      let sum;
      if (cg === 1) sum = pairwise(flat, 0, flat.length);
      else { sum = 0; for (const p of flat) sum = R(sum + p); }
      chans.push({ c, ch, name: G.names[ch], patch, weights, products, sum });
    }
    return { f, row, col, rows, cols, chans, held };
  }

  // One format for a grid, as convcli's tables: integers plainly, else 4 significant digits of the largest
  function format(values) {
    const fin = values.filter(Number.isFinite), m = fin.length ? Math.max(...fin.map(Math.abs)) : 0;
    let f;
    if (m >= 1e7 || (m > 0 && m < 1e-3)) f = (v) => v.toExponential(3);
    else if (fin.length && fin.every((v) => v === Math.round(v))) f = (v) => v.toFixed(0);
    else { const d = m === 0 ? 4 : Math.max(0, Math.min(4, 3 - Math.floor(Math.log10(m)))); f = (v) => v.toFixed(d); }
    return (v) => {
      if (Number.isNaN(v)) return "NaN";
      if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
      const t = f(v);
      return /^-[0.]*(e.*)?$/.test(t) && !/[1-9]/.test(t.split("e")[0]) ? t.slice(1) : t;
    };
  }
  const fmt1 = (v) => format([v])(v);

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function number(cls, v) {
    const o = el("output", cls, fmt1(v));
    o.dataset.v = String(v);
    return o;
  }
  function grid(cls, m) {
    const t = el("table", "grid " + cls), f = format(m.flat());
    for (const row of m) {
      const tr = t.insertRow();
      for (const v of row) { const td = tr.insertCell(); td.textContent = f(v); td.dataset.v = String(v); }
    }
    return t;
  }

  const state = { filter: filters[0], at: [Math.floor(ho / 2), Math.floor(wo / 2)], pinned: null, off: new Set(), missing: null };
  if (H.start) state.at = H.start.slice();
  else if (H.exact_rows[1] > H.exact_rows[0] && H.exact_cols[1] > H.exact_cols[0]) {
    state.at = [Math.floor((H.exact_rows[0] + H.exact_rows[1] - 1) / 2), Math.floor((H.exact_cols[0] + H.exact_cols[1] - 1) / 2)];
  }

  function readHash() {
    const p = new URLSearchParams(location.hash.replace(/^#/, ""));
    const f = Number(p.get("filter"));
    state.missing = p.has("filter") && !filters.includes(f) ? p.get("filter") : null;
    if (p.has("filter") && filters.includes(f)) state.filter = f;
    const at = p.get("at") ? rowCol(p.get("at").split(",").map(Number)) : null;
    if (at && at.every(Number.isInteger) && at[0] >= 0 && at[0] < ho && at[1] >= 0 && at[1] < wo) state.at = at;
    state.pinned = state.at.slice();
  }
  // the address holds a position as `run --trace` takes it for the layer's rank: I (a 1-D layer's one row),
  // ROW,COL, or D,ROW,COL (D: the plane this page shows; another plane is not on the page)
  function rowCol(v) {
    if (G.rank === 1) return v.length === 1 ? [0, v[0]] : null;
    if (G.rank === 3) return v.length === 3 && v[0] === G.plane ? [v[1], v[2]] : null;
    return v.length === 2 ? v : null;
  }
  function ownPosition(at) {
    return G.rank === 1 ? String(at[1]) : (G.rank === 3 ? G.plane + "," : "") + at[0] + "," + at[1];
  }
  function writeHash() {
    const h = "#filter=" + state.filter + "&at=" + ownPosition(state.pinned);
    if (location.hash === h) return;
    try { history.replaceState(null, "", h); } catch (e) { /* a sandboxed page: the link is not kept */ }
  }

  const traceBox = document.getElementById("trace");
  const where = document.getElementById("position");

  function showMaps() {
    for (const s of document.querySelectorAll("section.filter")) s.hidden = Number(s.dataset.filter) !== state.filter;
    const [r, c] = state.at, t = trace(state.filter, r, c);
    for (const m of document.querySelectorAll("section.filter .mark")) {
      m.style.left = (100 * c / wo) + "%"; m.style.top = (100 * r / ho) + "%";
      m.style.width = (100 / wo) + "%"; m.style.height = (100 / ho) + "%";
    }
    const r0 = Math.max(0, t.rows[0]), r1 = Math.min(ih, t.rows[kh - 1] + 1);
    const c0 = Math.max(0, t.cols[0]), c1 = Math.min(iw, t.cols[kw - 1] + 1);
    const group = Math.floor(state.filter / (G.filters / G.groups));
    for (const fig of document.querySelectorAll("section.inputs figure")) {
      const ch = Number(fig.dataset.channel), box = fig.querySelector(".rf");
      const reads = ch >= group * cg && ch < (group + 1) * cg;
      fig.classList.toggle("unread", !reads);
      fig.classList.toggle("off", reads && state.off.has(ch - group * cg));
      box.hidden = !reads || r1 <= r0 || c1 <= c0;
      box.style.left = (100 * c0 / iw) + "%"; box.style.top = (100 * r0 / ih) + "%";
      box.style.width = (100 * (c1 - c0) / iw) + "%"; box.style.height = (100 * (r1 - r0) / ih) + "%";
    }
    for (const fig of document.querySelectorAll("section.filter figure[data-channel]")) {
      fig.classList.toggle("off", state.off.has(Number(fig.dataset.channel)));
    }
    return t;
  }


  // --precision: the traced position as a GPU computes it in that format, from the numbers held here.
  // Rounding is the engine's (convcli/engine/precision.py) bit for bit: float32 first, then TF32's and
  // bfloat16's mantissa rounded to nearest even on float32's bits, float16 by value with its subnormals
  // and overflow to ±inf. The adder goes tap by tap, channel by channel within a tap (the engine's order
  // for the float16 adder; its float32 adder follows BLAS, which may differ in float32's last place).
  const PR = D.precision || null;
  const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
  function roundMantissa(v, bits) {
    f32[0] = v;
    const drop = 23 - bits;
    if (Number.isNaN(f32[0]) || drop <= 0) return f32[0];
    const u = u32[0];
    const r = (((u >>> drop) & 1) + ((1 << (drop - 1)) - 1) + u) >>> 0;
    u32[0] = r & ((0xFFFFFFFF << drop) >>> 0);
    return f32[0];
  }
  function roundHalf(v) {  // a number (exactly as given) to float16: nearest even, subnormals, ±inf past 65504
    if (!Number.isFinite(v) || v === 0) return v;
    const a = Math.abs(v);
    if (a >= 65520) return v > 0 ? Infinity : -Infinity;
    let e = Math.floor(Math.log2(a));
    if (2 ** e > a) e--; else if (2 ** (e + 1) <= a) e++;
    const q = 2 ** (Math.max(e, -14) - 10), t = v / q;
    let n = Math.round(t);
    if (Math.abs(t - Math.trunc(t)) === 0.5) n = 2 * Math.round(t / 2);
    return n * q;
  }
  const ROUND = {
    fp64: (v) => v, fp32: Math.fround, tf32: (v) => roundMantissa(v, 10), bf16: (v) => roundMantissa(v, 7),
    fp16: (v) => roundHalf(Math.fround(v)),
  };
  const ADD = { fp64: (v) => v, fp32: Math.fround, fp16: roundHalf };

  // the entry that rounding moved most (the largest one when none moved), as run's precision panel picks it
  function movedMost(given, stored) {
    let best = -1, most = 0;
    for (let i = 0; i < given.length; i++) {
      const m = Math.abs(stored[i] - given[i]);
      if (m > most) { most = m; best = i; }
    }
    if (best < 0) {
      let big = -1;
      for (let i = 0; i < given.length; i++) if (Math.abs(given[i]) > big) { big = Math.abs(given[i]); best = i; }
    }
    return { given: given[best], stored: stored[best] };
  }

  // Filter t.f at t's position in PR.precision, every channel included: each channel's float64 partial sum
  // of the values as given and as rounded, the adder's sum, the stored result and the parts of emulated − exact.
  function emulated(t) {
    const rnd = ROUND[PR.precision], store = ROUND[PR.storage], add = ADD[PR.adder];
    const fr = PR.precision === "fp64" ? (v) => v : Math.fround;
    const chans = [];
    for (const ch of t.chans) {
      const g = ch.patch.flat(), w = ch.weights.flat(), gr = g.map(rnd), wr = w.map(rnd);
      let exact = 0, rounded = 0;
      for (let i = 0; i < g.length; i++) { exact += g[i] * w[i]; rounded += gr[i] * wr[i]; }
      chans.push({ name: ch.name, c: ch.c, gr, wr, exact, rounded, error: rounded - exact,
        value: movedMost(g, gr), weight: movedMost(w, wr) });
    }
    let acc = 0;
    for (let k = 0; k < kh * kw; k++) for (const ch of chans) acc = add(acc + fr(ch.gr[k] * ch.wr[k]));
    const b = G.use_bias ? (PR.bias[t.f] === null ? NaN : PR.bias[t.f]) : 0, br = store(b);
    const A = add(acc + br), Y = store(A);
    const act = ACT[G.activation], out = PR.keeps ? act(Y) : store(Math.fround(act(Y)));
    let exact = b, rsum = br;
    for (const ch of chans) { exact += ch.exact; rsum += ch.rounded; }
    const parts = [...chans.map((ch) => ["channel " + ch.name, ch.error]), ["bias", br - b],
      ["accumulation", A - rsum], ["output rounding", Y - A]];
    let dominant = null, top = 0;
    for (const [name, e] of parts) if (Math.abs(e) > top) { top = Math.abs(e); dominant = name; }
    return { chans, bias: { given: b, stored: br }, biasError: br - b, accumulated: A, accumulation: A - rsum,
      stored: Y, rounding: Y - A, exact, emulated: Y, outExact: act(exact), out, dominant };
  }

  function showPrecision(t) {
    const e = emulated(t), box = el("div", "emulation");
    box.append(el("h3", "", PR.title + " at output (" + t.row + ", " + t.col + ") · filter " + t.f +
      " · products added in " + PR.adder_title + " (every channel)"));
    const table = el("table", "precision"), head = table.createTHead().insertRow();
    for (const h of ["", "input", "weight", "float64", PR.title, "error"]) head.append(el("th", "", h));
    const body = table.createTBody();
    const stored = (s) => (s.given === s.stored ? fmt1(s.given) : fmt1(s.given) + " → " + fmt1(s.stored));
    function row(part, label, input, weight, exact, value, error) {
      const tr = body.insertRow();
      tr.dataset.part = part;
      if (part === e.dominantPart) tr.className = "dominant";
      tr.append(el("th", "", label));
      for (const [cls, v] of [["input", input], ["weight", weight], ["exact", exact], ["emulated", value], ["error", error]]) {
        const td = tr.insertCell();
        td.className = cls;
        if (typeof v === "number") { td.textContent = cls === "error" ? signed(v) : fmt1(v); td.dataset.v = String(v); }
        else td.textContent = v;
      }
    }
    const signed = (v) => (v === 0 ? "0" : (v > 0 ? "+" : "") + fmt1(v));
    e.dominantPart = e.dominant === null ? null : e.dominant.startsWith("channel ") ?
      "channel-" + e.chans.find((ch) => "channel " + ch.name === e.dominant).c : e.dominant.replace(" ", "-");
    for (const ch of e.chans) row("channel-" + ch.c, "channel " + ch.name, stored(ch.value), stored(ch.weight), ch.exact, ch.rounded, ch.error);
    row("bias", "bias", "", stored(e.bias), e.bias.given, e.bias.stored, e.biasError);
    row("accumulation", "sum in " + PR.adder_title, "", "", "", e.accumulated, e.accumulation);
    row("output-rounding", "stored in " + PR.storage_title, "", "", "", e.stored, e.rounding);
    row("preactivation", "pre-activation", "", "", e.exact, e.emulated, e.emulated - e.exact);
    row("output", "output (" + G.activation + ")", "", "", e.outExact, e.out, e.out - e.outExact);
    box.append(table);
    const verdict = e.dominant === null ? PR.title + " gives the float64 result here." :
      "difference " + signed(e.emulated - e.exact) + " (" + fmt1(Math.abs(e.emulated - e.exact) / (Math.abs(e.exact) || 1) / PR.eps) +
      " eps of the result); the largest part: " + ({ accumulation: "sum in " + PR.adder_title,
        "output rounding": "stored in " + PR.storage_title }[e.dominant] || e.dominant);
    box.append(el("p", "verdict", verdict));
    traceBox.append(box);
  }

  function showTrace(t) {
    traceBox.replaceChildren();
    where.textContent = "filter " + t.f + " · output (" + t.row + ", " + t.col + ")" +
      (G.rank === 2 ? "" : " · run --trace " + ownPosition([t.row, t.col]));
    const head = el("p", "where", "filter " + t.f + " at output (" + t.row + ", " + t.col + "): input rows " +
      t.rows[0] + "–" + t.rows[kh - 1] + ", columns " + t.cols[0] + "–" + t.cols[kw - 1] +
      " (outside 0–" + (ih - 1) + " / 0–" + (iw - 1) + ": zero padding)");
    traceBox.append(head);
    if (state.missing !== null) {
      traceBox.append(el("p", "unheld missing", "The link asks for filter " + state.missing + ", which this report does not hold " +
        "(it holds filters " + filters.join(", ") + "; build it with --filter " + state.missing + "): filter " + t.f + " is shown."));
    }
    if (!t.held) {
      traceBox.append(el("p", "unheld", "This page does not hold the input this position reads (see the note at the top); " +
        "exact numbers are held at output rows " + H.exact_rows[0] + "–" + (H.exact_rows[1] - 1) + ", columns " +
        H.exact_cols[0] + "–" + (H.exact_cols[1] - 1) + "."));
      return;
    }
    const list = el("div", "channels");
    let total = 0, all = 0;
    for (const ch of t.chans) {
      const on = !state.off.has(ch.c);
      all += ch.sum;
      if (on) total += ch.sum;
      const row = el("div", "channel" + (on ? "" : " off"));
      row.dataset.channel = String(ch.c);
      const label = el("label", "name"), box = el("input");
      box.type = "checkbox"; box.checked = on; box.dataset.channel = String(ch.c);
      box.title = "include this channel in the sum";
      label.append(box, document.createTextNode(" " + ch.name));
      row.append(label, grid("patch", ch.patch), el("span", "op", "⊙"), grid("weights", ch.weights),
        el("span", "op", "="), grid("products", ch.products), el("span", "op", "Σ"), number("sum", ch.sum));
      list.append(row);
    }
    traceBox.append(list);
    const bias = G.use_bias ? (H.bias[t.f] === null ? NaN : H.bias[t.f]) : 0;
    const pre = total + bias, out = activate(pre);
    const sums = el("p", "totals");
    sums.append(el("span", "", "Σ channels "), number("total", total), el("span", "", G.use_bias ? " + bias " : " (no bias) "),
      number("bias", bias), el("span", "", " = pre-activation "), number("pre", pre),
      el("span", "", " → " + G.activation + " → output "), number("out", out));
    traceBox.append(sums);
    if (state.off.size) {
      const full = activate(all + bias);
      const lost = el("p", "lost");
      lost.append(el("span", "", "with every channel: pre-activation "), number("pre-all", all + bias),
        el("span", "", ", output "), number("out-all", full), el("span", "", "; the channels switched off add "),
        number("lost", all - total), el("span", "", " to the sum."));
      traceBox.append(lost);
    }
    if (PR) showPrecision(t);
  }

  // The pre-activation map (and the output map, through the activation) without the channels switched
  // off, when the page holds the whole input and recomputing it is cheap (at most WITHOUT_MACS products):
  // block means, each painted on its own map's scale.
  const WITHOUT_MACS = 3e7;
  const wholeInput = xr0 === 0 && xr1 === ih && xc0 === 0 && xc1 === iw;
  function paintCells(sums, counts, bw, bh, scale) {
    const [lo, hi] = scale.ends, n = scale.lut.length / 3, img = new ImageData(bw, bh);
    for (let b = 0; b < bh * bw; b++) {
      const v = sums[b] / counts[b];
      let rgb;
      if (!Number.isFinite(v)) rgb = [0, 190, 0];
      else {
        const t = hi > lo ? Math.min(1, Math.max(0, (v - lo) / (hi - lo))) : scale.flat;
        const i = Math.round(t * (n - 1)) * 3;
        rgb = [scale.lut[i], scale.lut[i + 1], scale.lut[i + 2]];
      }
      img.data.set([...rgb, 255], b * 4);
    }
    return img;
  }
  function mapsWithout(f, off) {
    const g = Math.floor(f / (G.filters / G.groups)), slot = filters.indexOf(f), P = D.paint[String(f)];
    const on = [];
    for (let c = 0; c < cg; c++) if (!off.has(c)) on.push(c);
    const [bh, bw] = P.cells, k = P.k, n = bh * bw;
    const sums = new Float64Array(n), outs = new Float64Array(n), counts = new Float64Array(n);
    const act = ACT[G.activation];
    let low = Infinity, high = -Infinity, olow = Infinity, ohigh = -Infinity;
    const bias = G.use_bias ? (H.bias[f] === null ? NaN : H.bias[f]) : 0;
    for (let r = 0; r < ho; r++) {
      for (let q = 0; q < wo; q++) {
        let s = 0;
        for (let i = 0; i < kh; i++) {
          const rr = r * G.stride[0] - G.pads[0] + i * G.dilation[0];
          if (rr < 0 || rr >= ih) continue;
          for (let j = 0; j < kw; j++) {
            const cc = q * G.stride[1] - G.pads[2] + j * G.dilation[1];
            if (cc < 0 || cc >= iw) continue;
            const xb = (rr * iw + cc) * C + g * cg, kb = (i * kw + j) * cg;
            for (const c of on) s += X[xb + c] * K[(kb + c) * nk + slot];
          }
        }
        const b = Math.floor(r / k) * bw + Math.floor(q / k), z = s + bias, y = act(z);
        sums[b] += z; outs[b] += y; counts[b] += 1;
        low = Math.min(low, z); high = Math.max(high, z); olow = Math.min(olow, y); ohigh = Math.max(ohigh, y);
      }
    }
    const maps = { preactivation: { img: paintCells(sums, counts, bw, bh, P), low, high } };
    if (P.output) maps.output = { img: paintCells(outs, counts, bw, bh, P.output), low: olow, high: ohigh };
    return maps;
  }
  let painted = "";
  function showWithout() {
    const section = document.querySelector("section.filter[data-filter='" + state.filter + "']");
    if (!section) return;
    const key = state.filter + ":" + [...state.off].sort().join(",");
    if (key === painted) return;
    for (const other of document.querySelectorAll("canvas.without")) other.hidden = true;
    for (const other of document.querySelectorAll(".without-note")) other.textContent = "";
    painted = key;
    if (!state.off.size) return;
    const names = [...state.off].sort((a, b) => a - b).map((c) => G.names[Math.floor(state.filter / (G.filters / G.groups)) * cg + c]);
    const figs = [...section.querySelectorAll("figure[data-kind]")];
    if (!wholeInput || ho * wo * kh * kw * cg > WITHOUT_MACS) {
      for (const fig of figs) {
        fig.querySelector(".without-note").textContent = " (the map is drawn with every channel: recomputing it here " +
          "would be too slow or needs input this page does not hold)";
      }
      return;
    }
    const maps = mapsWithout(state.filter, state.off);
    for (const fig of figs) {
      const m = maps[fig.dataset.kind];
      if (!m) continue;
      const canvas = fig.querySelector("canvas.without");
      canvas.width = m.img.width; canvas.height = m.img.height;
      canvas.getContext("2d").putImageData(m.img, 0, 0);
      canvas.hidden = false;
      fig.querySelector(".without-note").textContent = " without " + names.join(", ") + ": " + fmt1(m.low) + " … " + fmt1(m.high);
    }
  }

  function update() { showTrace(showMaps()); showWithout(); }

  document.getElementById("filter").addEventListener("change", (e) => {
    state.filter = Number(e.target.value); state.missing = null; state.off.clear(); writeHash(); update();
  });
  traceBox.addEventListener("change", (e) => {
    const c = Number(e.target.dataset.channel);
    if (e.target.checked) state.off.delete(c); else state.off.add(c);
    update();
  });
  function positionOf(e, frame) {
    const b = frame.getBoundingClientRect();
    const r = Math.min(ho - 1, Math.max(0, Math.floor((e.clientY - b.top) / b.height * ho)));
    const c = Math.min(wo - 1, Math.max(0, Math.floor((e.clientX - b.left) / b.width * wo)));
    return [r, c];
  }
  for (const frame of document.querySelectorAll("section.filter .frame")) {
    frame.addEventListener("click", (e) => { state.at = positionOf(e, frame); state.pinned = state.at.slice(); writeHash(); update(); });
    frame.addEventListener("mousemove", (e) => { state.at = positionOf(e, frame); update(); });
    frame.addEventListener("mouseleave", () => { state.at = state.pinned.slice(); update(); });
  }
  document.addEventListener("keydown", (e) => {
    if (e.target instanceof HTMLSelectElement || e.target instanceof HTMLInputElement) return;
    const step = e.shiftKey ? 10 : 1, move = { ArrowUp: [-step, 0], ArrowDown: [step, 0], ArrowLeft: [0, -step], ArrowRight: [0, step] }[e.key];
    if (!move) return;
    e.preventDefault();
    state.pinned = [Math.min(ho - 1, Math.max(0, state.pinned[0] + move[0])), Math.min(wo - 1, Math.max(0, state.pinned[1] + move[1]))];
    state.at = state.pinned.slice(); writeHash(); update();
  });
  window.addEventListener("hashchange", () => { readHash(); document.getElementById("filter").value = String(state.filter); update(); });

  readHash();
  document.getElementById("filter").value = String(state.filter);
  update();
  document.body.dataset.ready = "1";
})();
