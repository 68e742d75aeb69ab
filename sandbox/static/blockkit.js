// Block Kit in the browser: enough of Slack's rendering to use every surface talentbot builds.
// BlockKit.render(blocks, ctx) returns a DOM node; ctx.onAction(action) is called for interactive elements
// that Slack would send to the app at once, and ctx.values() reads a modal's state as Slack reports it.
"use strict";

const BlockKit = (() => {
  let people = {};
  let channels = {};

  // Slack's emoji shortcodes that talentbot's messages use (and a few common ones); others stay as typed.
  const EMOJI = {
    alarm_clock: "⏰", ballot_box_with_check: "☑️", bar_chart: "📊", briefcase: "💼", busts_in_silhouette: "👥",
    calendar: "📅", clipboard: "📋", construction: "🚧", email: "📧", fast_forward: "⏩", fire: "🔥",
    grey_question: "❔", handshake: "🤝", heavy_minus_sign: "➖", hourglass: "⌛", hourglass_flowing_sand: "⏳",
    inbox_tray: "📥", large_green_circle: "🟢", link: "🔗", lock: "🔒", mag: "🔍", memo: "📝", moneybag: "💰",
    new: "🆕", no_entry: "⛔", no_entry_sign: "🚫", outbox_tray: "📤", page_facing_up: "📄", phone: "📞",
    red_circle: "🔴", repeat: "🔁", rocket: "🚀", rotating_light: "🚨", scales: "⚖️", seedling: "🌱",
    sparkles: "✨", stopwatch: "⏱️", tada: "🎉", thinking_face: "🤔", warning: "⚠️", wastebasket: "🗑️",
    wave: "👋", white_check_mark: "✅", white_circle: "⚪", white_square: "⬜", x: "❌", zzz: "💤",
    manager: "🧑‍💼", interviewer: "🧑‍💻", eyes: "👀", star: "⭐", bell: "🔔", bulb: "💡", "+1": "👍",
  };
  const emoji = (text) => String(text).replace(/:([a-z0-9_+-]+):/g, (whole, name) => EMOJI[name] || whole);

  function configure(boot) {
    people = Object.fromEntries(boot.people.map((p) => [p.id, p.name]));
    people[boot.bot.id] = boot.bot.name;
    channels = Object.fromEntries(boot.channels.map((c) => [c.id, c.name]));
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function escapeHtml(text) {
    return text.replace(/&(?!(amp|lt|gt);)/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;");
  }

  // Slack's mrkdwn: *bold*, _italic_, ~strike~, `code`, ```pre```, > quotes, <url|text>, <@U…>, <#C…>.
  function mrkdwn(source) {
    const tokens = [];
    const keep = (html) => { tokens.push(html); return `\u0000${tokens.length - 1}\u0000`; };
    let text = String(source || "");
    text = text.replace(/```([\s\S]*?)```/g, (_, code) => keep(`<pre>${escapeHtml(code)}</pre>`));
    text = text.replace(/`([^`\n]+)`/g, (_, code) => keep(`<code>${escapeHtml(code)}</code>`));
    text = text.replace(/<([^<>\n]+)>/g, (_, inner) => {
      const [target, label] = inner.split("|");
      if (target.startsWith("@")) {
        const id = target.slice(1);
        return keep(`<span class="mention" data-user="${escapeHtml(id)}">@${escapeHtml(label || people[id] || id)}</span>`);
      }
      if (target.startsWith("#")) {
        const id = target.slice(1);
        return keep(`<span class="mention">#${escapeHtml(label || channels[id] || id)}</span>`);
      }
      if (target.startsWith("!")) return keep(`<span class="mention">@${escapeHtml(label || target.slice(1).split("^")[0])}</span>`);
      if (/^(https?:|mailto:)/.test(target)) {
        return keep(`<a href="${escapeHtml(target)}" target="_blank" rel="noopener">${escapeHtml(label || target)}</a>`);
      }
      return `&lt;${inner}&gt;`;
    });
    text = emoji(escapeHtml(text));
    text = text.replace(/(^|[^\w*])\*(?!\s)([^*\n]+?)\*(?![\w*])/gm, "$1<b>$2</b>");
    text = text.replace(/(^|[^\w_])_(?!\s)([^_\n]+?)_(?![\w_])/gm, "$1<i>$2</i>");
    text = text.replace(/(^|[^\w~])~(?!\s)([^~\n]+?)~(?![\w~])/gm, "$1<s>$2</s>");
    text = text.replace(/^&gt; ?(.*)$/gm, "<blockquote>$1</blockquote>");
    text = text.replace(/\n/g, "<br>").replace(/<\/blockquote><br>/g, "</blockquote>");
    text = text.replace(/\u0000(\d+)\u0000/g, (_, i) => tokens[Number(i)]);
    return text;
  }

  function textNode(obj, cls) {
    const span = el("span", { class: cls || "" });
    if (!obj) return span;
    if (obj.type === "mrkdwn") { span.classList.add("mrkdwn"); span.innerHTML = mrkdwn(obj.text); }
    else span.textContent = obj.emoji === false ? obj.text : emoji(obj.text);
    return span;
  }

  function plain(obj) { return obj ? emoji(obj.text) : ""; }

  function optionsOf(element) {
    if (element.option_groups) return element.option_groups.flatMap((g) => g.options);
    return element.options || [];
  }

  function selectOptions(select, element, selected) {
    const add = (parent, option) => {
      const node = el("option", { value: option.value }, plain(option.text));
      if (selected && selected.includes(option.value)) node.selected = true;
      parent.append(node);
    };
    if (element.option_groups) {
      for (const group of element.option_groups) {
        const node = el("optgroup", { label: plain(group.label) });
        group.options.forEach((o) => add(node, o));
        select.append(node);
      }
    } else (element.options || []).forEach((o) => add(select, o));
  }

  // One interactive element. `live` (messages, App Home, dispatching inputs) sends block_actions on change.
  function element(elem, blockId, ctx, live) {
    const base = { action_id: elem.action_id, block_id: blockId, type: elem.type };
    const fire = (extra) => live && ctx.onAction({ ...base, ...extra });
    const attrs = { "data-action-id": elem.action_id, "data-block-id": blockId, "data-type": elem.type };
    switch (elem.type) {
      case "button": {
        const button = el("button", { type: "button", class: `bk-button ${elem.style || ""}`, ...attrs },
          plain(elem.text));
        button.addEventListener("click", () => confirmThen(elem.confirm, () => {
          if (elem.url) window.open(elem.url, "_blank", "noopener");
          ctx.onAction({ ...base, text: elem.text, value: elem.value, style: elem.style });
        }));
        return button;
      }
      case "static_select": case "external_select": case "users_select": case "conversations_select":
      case "channels_select": case "multi_static_select": case "multi_users_select": {
        return selectElement(elem, base, attrs, ctx, live);
      }
      case "overflow": {
        const menu = el("ul", { hidden: true });
        const wrap = el("span", { class: "bk-overflow", ...attrs },
          el("button", { type: "button", "aria-label": "More actions", onclick: () => { menu.hidden = !menu.hidden; } }, "⋯"),
          menu);
        for (const option of elem.options || []) {
          menu.append(el("li", {}, el("button", {
            type: "button",
            onclick: () => {
              menu.hidden = true;
              confirmThen(elem.confirm, () => ctx.onAction({ ...base, selected_option: option }));
            },
          }, plain(option.text))));
        }
        return wrap;
      }
      case "datepicker": case "timepicker": {
        const isDate = elem.type === "datepicker";
        const input = el("input", { type: isDate ? "date" : "time", class: "bk-input", ...attrs,
          value: isDate ? elem.initial_date : elem.initial_time });
        input.addEventListener("change", () => fire(isDate ? { selected_date: input.value || null }
          : { selected_time: input.value || null }));
        return input;
      }
      case "checkboxes": case "radio_buttons": {
        const group = el("div", { class: "bk-choices", ...attrs, role: elem.type === "radio_buttons" ? "radiogroup" : "group" });
        const initial = elem.type === "checkboxes" ? (elem.initial_options || []).map((o) => o.value)
          : elem.initial_option ? [elem.initial_option.value] : [];
        const name = `${blockId}:${elem.action_id}`;
        for (const option of elem.options || []) {
          const input = el("input", { type: elem.type === "checkboxes" ? "checkbox" : "radio", name,
            value: option.value, checked: initial.includes(option.value) });
          input.addEventListener("change", () => {
            const chosen = [...group.querySelectorAll("input:checked")].map((i) => findOption(elem, i.value));
            fire(elem.type === "checkboxes" ? { selected_options: chosen } : { selected_option: chosen[0] || null });
          });
          group.append(el("label", { class: "bk-choice" }, input, " ", textNode(option.text),
            option.description ? el("span", { class: "bk-desc" }, plain(option.description)) : null));
        }
        return group;
      }
      case "plain_text_input": case "email_text_input": case "url_text_input": case "number_input": {
        const type = { email_text_input: "email", url_text_input: "url", number_input: "number" }[elem.type] || "text";
        const field = elem.multiline
          ? el("textarea", { class: "bk-input", rows: 4, ...attrs })
          : el("input", { type, class: "bk-input", ...attrs, step: elem.is_decimal_allowed ? "any" : undefined,
            min: elem.min_value, max: elem.max_value });
        field.value = elem.initial_value || "";
        if (elem.placeholder) field.placeholder = plain(elem.placeholder);
        if (elem.max_length) field.maxLength = elem.max_length;
        if (live) field.addEventListener("keydown", (event) => {
          if (event.key === "Enter" && !elem.multiline) { event.preventDefault(); fire({ value: field.value }); }
        });
        return field;
      }
      case "image":
        return el("img", { src: elem.image_url, alt: elem.alt_text || "", class: "bk-accessory-image",
          width: 72, height: 72 });
      default:
        return el("span", { class: "bk-unsupported" }, `[${elem.type}]`);
    }
  }

  // Slack's confirmation dialog (the `confirm` object): title, text, and the two buttons it names.
  function confirmThen(confirm, go) {
    if (!confirm) { go(); return; }
    const close = () => backdrop.remove();
    const backdrop = el("div", { class: "bk-confirm-backdrop" },
      el("div", { class: "bk-confirm", role: "alertdialog", "aria-modal": "true" },
        el("h3", {}, plain(confirm.title)),
        textNode(confirm.text),
        el("footer", {},
          el("button", { type: "button", class: "bk-button bk-confirm-deny", onclick: close },
            confirm.deny ? plain(confirm.deny) : "Cancel"),
          el("button", { type: "button", class: `bk-button bk-confirm-ok ${confirm.style || "primary"}`,
            onclick: () => { close(); go(); } }, confirm.confirm ? plain(confirm.confirm) : "Yes"))));
    document.body.append(backdrop);
    backdrop.querySelector(".bk-confirm-ok").focus();
  }

  function findOption(elem, value) {
    return optionsOf(elem).find((o) => o.value === value) || null;
  }

  function selectElement(elem, base, attrs, ctx, live) {
    const multi = elem.type.startsWith("multi_");
    const select = el("select", { class: "bk-select", ...attrs, multiple: multi });
    const kind = elem.type.replace("multi_", "");
    let selected = [];
    if (elem.initial_option) selected = [elem.initial_option.value];
    if (elem.initial_options) selected = elem.initial_options.map((o) => o.value);
    if (elem.initial_user) selected = [elem.initial_user];
    if (elem.initial_users) selected = elem.initial_users;
    if (elem.initial_conversation || elem.initial_channel) selected = [elem.initial_conversation || elem.initial_channel];
    if (!multi) select.append(el("option", { value: "" }, elem.placeholder ? plain(elem.placeholder) : "Select…"));
    if (kind === "users_select") {
      for (const [id, name] of Object.entries(people)) {
        select.append(el("option", { value: id, selected: selected.includes(id) }, name));
      }
    } else if (kind === "conversations_select" || kind === "channels_select") {
      for (const [id, name] of Object.entries(channels)) {
        select.append(el("option", { value: id, selected: selected.includes(id) }, `#${name}`));
      }
    } else if (kind === "external_select") {
      if (elem.initial_option) select.append(el("option", { value: elem.initial_option.value, selected: true },
        plain(elem.initial_option.text)));
      select._options = elem.initial_option ? [elem.initial_option] : [];
    } else {
      selectOptions(select, elem, selected);
    }
    select._elem = elem;
    select.addEventListener("change", () => {
      if (!live) return;
      const value = select.value || null;
      if (kind === "users_select") ctx.onAction(multi ? { ...base, selected_users: [...select.selectedOptions].map((o) => o.value) }
        : { ...base, selected_user: value });
      else if (kind === "conversations_select") ctx.onAction({ ...base, selected_conversation: value });
      else if (kind === "channels_select") ctx.onAction({ ...base, selected_channel: value });
      else if (multi) ctx.onAction({ ...base, selected_options: [...select.selectedOptions].map((o) => findOption(elem, o.value)) });
      else ctx.onAction({ ...base, selected_option: optionFor(select, value) });
    });
    if (kind !== "external_select") return select;
    // An external select asks the app for options as the person types, like Slack's typeahead.
    const search = el("input", { type: "search", class: "bk-input bk-search", placeholder: "Type to search…",
      "aria-label": `Search ${elem.action_id}`, "data-search-for": elem.action_id });
    let pending = 0;
    const load = async () => {
      const ticket = ++pending;
      const answer = await ctx.loadOptions({ action_id: elem.action_id, block_id: base.block_id, value: search.value });
      if (ticket !== pending) return;
      const current = select.value;
      select.replaceChildren(el("option", { value: "" }, "Select…"));
      const options = answer.option_groups ? answer.option_groups.flatMap((g) => g.options) : (answer.options || []);
      select._options = options;
      for (const option of options) select.append(el("option", { value: option.value, selected: option.value === current }, plain(option.text)));
    };
    search.addEventListener("input", load);
    select.addEventListener("focus", () => { if (!select._loaded) { select._loaded = true; load(); } }, { once: true });
    return el("span", { class: "bk-external" }, search, " ", select);
  }

  function optionFor(select, value) {
    if (!value) return null;
    const known = select._options || optionsOf(select._elem);
    return known.find((o) => o.value === value) || { text: { type: "plain_text", text: value }, value };
  }

  // The state Slack reports for one element, as in view.state.values[block_id][action_id].
  function stateOf(node) {
    const type = node.dataset.type;
    switch (type) {
      case "plain_text_input": case "email_text_input": case "url_text_input": case "number_input":
        return { type, value: node.value === "" ? null : node.value };
      case "datepicker": return { type, selected_date: node.value || null };
      case "timepicker": return { type, selected_time: node.value || null };
      case "checkboxes": return { type, selected_options: [...node.querySelectorAll("input:checked")]
        .map((i) => findOption(node._elem, i.value)) };
      case "radio_buttons": {
        const checked = node.querySelector("input:checked");
        return { type, selected_option: checked ? findOption(node._elem, checked.value) : null };
      }
      case "users_select": return { type, selected_user: node.value || null };
      case "multi_users_select": return { type, selected_users: [...node.selectedOptions].map((o) => o.value) };
      case "conversations_select": return { type, selected_conversation: node.value || null };
      case "channels_select": return { type, selected_channel: node.value || null };
      case "multi_static_select": return { type, selected_options: [...node.selectedOptions].map((o) => findOption(node._elem, o.value)) };
      case "static_select": case "external_select": return { type, selected_option: optionFor(node, node.value) };
      default: return null;
    }
  }

  function collectValues(root) {
    const values = {};
    for (const node of root.querySelectorAll("[data-block-id][data-type]")) {
      const state = stateOf(node);
      if (!state) continue;
      (values[node.dataset.blockId] ||= {})[node.dataset.actionId] = state;
    }
    return values;
  }

  function restoreValues(root, values) {
    for (const node of root.querySelectorAll("[data-block-id][data-type]")) {
      const state = (values[node.dataset.blockId] || {})[node.dataset.actionId];
      if (!state) continue;
      if ("value" in state && state.value !== null) node.value = state.value;
      else if (state.selected_date) node.value = state.selected_date;
      else if (state.selected_time) node.value = state.selected_time;
      else if (state.selected_user) node.value = state.selected_user;
      else if (state.selected_option && node.tagName === "SELECT"
        && [...node.options].some((o) => o.value === state.selected_option.value)) node.value = state.selected_option.value;
      else if (state.selected_option || state.selected_options) {
        const chosen = (state.selected_options || [state.selected_option]).map((o) => o.value);
        node.querySelectorAll("input").forEach((input) => { input.checked = chosen.includes(input.value); });
      }
    }
  }

  function block(b, index, ctx) {
    const blockId = b.block_id || `auto-${index}`;
    const wrap = (cls, ...children) => el("div", { class: `bk-block ${cls}`, "data-block": blockId }, ...children);
    const live = ctx.surface !== "modal";
    const attach = (node, elem) => { node._elem = elem; node.querySelectorAll?.("[data-type]").forEach((n) => { n._elem = elem; }); return node; };
    switch (b.type) {
      case "section": {
        const main = el("div", { class: "bk-text" }, b.text ? textNode(b.text) : null,
          b.fields ? el("div", { class: "bk-fields" }, b.fields.map((f) => textNode(f))) : null);
        return wrap("bk-section", main, b.accessory ? attach(element(b.accessory, blockId, ctx, true), b.accessory) : null);
      }
      case "header": return wrap("bk-header", plain(b.text));
      case "divider": return el("hr", { class: "bk-divider" });
      case "context": return wrap("bk-context", (b.elements || []).map((e) => e.type === "image"
        ? el("img", { src: e.image_url, alt: e.alt_text || "" }) : textNode(e)));
      case "image": return wrap("bk-image", b.title ? el("div", { class: "bk-title" }, plain(b.title)) : null,
        el("img", { src: b.image_url, alt: b.alt_text || "" }));
      case "actions": return wrap("bk-actions", (b.elements || []).map((e) => attach(element(e, blockId, ctx, true), e)));
      case "input": {
        const inputNode = attach(element(b.element, blockId, ctx, live || Boolean(b.dispatch_action)), b.element);
        const label = el("label", {}, plain(b.label), b.optional ? el("span", { class: "optional" }, " (optional)") : null);
        const error = ctx.errors && ctx.errors[blockId];
        const node = wrap(`bk-input-block${error ? " invalid" : ""}`, label, inputNode,
          b.hint ? el("div", { class: "bk-hint" }, plain(b.hint)) : null,
          error ? el("div", { class: "bk-error", role: "alert" }, error) : null);
        return node;
      }
      case "rich_text": return wrap("bk-rich", richText(b));
      default: return wrap("bk-unsupported", `[${b.type} block]`);
    }
  }

  function richText(b) {
    const out = el("div", { class: "mrkdwn" });
    for (const part of b.elements || []) {
      const line = el("div");
      for (const piece of part.elements || []) {
        if (piece.type === "text") line.append(piece.style?.bold ? el("b", {}, piece.text) : piece.text);
        else if (piece.type === "user") line.append(el("span", { class: "mention" }, `@${people[piece.user_id] || piece.user_id}`));
        else if (piece.type === "link") line.append(el("a", { href: piece.url, target: "_blank" }, piece.text || piece.url));
        else if (piece.type === "rich_text_section") line.append(richText({ elements: [piece] }));
      }
      out.append(line);
    }
    return out;
  }

  function render(blocks, ctx) {
    const root = el("div", { class: "bk-blocks" });
    (blocks || []).forEach((b, i) => root.append(block(b, i, ctx)));
    return root;
  }

  return { configure, render, mrkdwn, collectValues, restoreValues, el };
})();
