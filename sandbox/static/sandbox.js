// The sandbox page: polls the workspace state and sends what the person does to the sandbox server,
// which turns it into the Slack-signed requests the bot receives.
"use strict";

(() => {
  const boot = JSON.parse(document.getElementById("boot").textContent);
  BlockKit.configure(boot);
  const { el } = BlockKit;
  const names = Object.fromEntries(boot.people.map((p) => [p.id, p.name]));
  names[boot.bot.id] = boot.bot.name;
  names.USLACKBOT = "Slackbot";

  const params = new URLSearchParams(location.hash.slice(1));
  const view = {
    user: params.get("user") || boot.people[0].id,
    place: params.get("place") || boot.channels[0].id, // a channel id, "dm", "home" or "outbox"
    thread: null,
  };
  let last = { messages: "", thread: "", home: "", modal: null, outbox: "", conversations: "" };
  let modalErrors = {};
  let state = null;

  const $ = (id) => document.getElementById(id);
  const switcher = $("user-switcher");
  switcher.value = view.user;

  async function post(path, body) {
    const response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user: view.user, ...body }) });
    const answer = await response.json().catch(() => ({}));
    refreshSoon();
    return answer;
  }

  function channelFor() { return view.place === "dm" ? "D" + view.user.slice(1) : view.place; }

  function saveHash() {
    location.hash = new URLSearchParams({ user: view.user, place: view.place }).toString();
  }

  function go(place) {
    view.place = place;
    view.thread = null;
    $("thread").hidden = true;
    last = { ...last, messages: "", thread: "", home: "", outbox: "" };
    saveHash();
    if (place === "home") post("/sandbox/home", {});
    render();
    refresh();
  }

  // ---------------------------------------------------------------- messages

  function initials(user) {
    return (names[user] || "?").split(" ").map((w) => w[0]).join("").slice(0, 2).toUpperCase();
  }

  function messageNode(message, { inThread }) {
    const channel = channelFor();
    const ctx = {
      surface: "message",
      onAction: (action) => post("/sandbox/action", { channel, ts: message.ts, action }),
      loadOptions: (query) => post("/sandbox/options", query),
    };
    const isBot = message.user === boot.bot.id || message.user === "USLACKBOT";
    const body = el("div", { class: "msg-body" },
      el("div", { class: "msg-meta" }, el("b", {}, names[message.user] || message.user),
        isBot ? el("span", { class: "badge" }, "APP") : null, " ",
        new Date(Number(message.ts) * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }),
        message.edited ? " (edited)" : "", message.ephemeral ? " · Only visible to you" : ""));
    if (message.blocks && message.blocks.length) body.append(BlockKit.render(message.blocks, ctx));
    else {
      const text = el("div", { class: "mrkdwn" });
      text.innerHTML = BlockKit.mrkdwn(message.text);
      body.append(text);
    }
    const actions = el("div", { class: "msg-actions" });
    if (!inThread && !message.ephemeral) {
      actions.append(el("button", { type: "button", class: "reply-link", onclick: () => openThread(message.ts) },
        message.replies ? `${message.replies} ${message.replies === 1 ? "reply" : "replies"}` : "Reply in thread"));
    }
    if (!message.ephemeral) {
      actions.append(el("button", { type: "button", class: "shortcut-link", title: "Message shortcut",
        onclick: () => post("/sandbox/shortcut", { channel, ts: message.ts, callback_id: "add_to_timeline" }) },
      "Add to timeline"));
    }
    body.append(actions);
    return el("div", { class: `msg${message.ephemeral ? " ephemeral" : ""}`, "data-ts": message.ts },
      el("div", { class: `avatar${isBot ? " bot" : ""}` }, isBot ? "🤖" : initials(message.user)), body);
  }

  function renderMessages(target, messages, inThread) {
    const atBottom = target.scrollHeight - target.scrollTop - target.clientHeight < 40;
    target.replaceChildren(...(messages.length ? messages.map((m) => messageNode(m, { inThread }))
      : [el("div", { class: "empty" }, "No messages yet.")]));
    if (atBottom || !target._scrolled) { target.scrollTop = target.scrollHeight; target._scrolled = true; }
  }

  function openThread(ts) {
    view.thread = ts;
    last.thread = "";
    $("thread").hidden = false;
    refresh();
  }

  // ---------------------------------------------------------------- home, modal, outbox

  function renderHome(home) {
    const target = $("home");
    if (!home) { target.replaceChildren(el("div", { class: "empty" }, "Opening the App Home…")); return; }
    target.replaceChildren(BlockKit.render(home.blocks, {
      surface: "home",
      onAction: (action) => post("/sandbox/action", { view_id: home.id, action, values: {} }),
      loadOptions: (query) => post("/sandbox/options", { view_id: home.id, ...query }),
    }));
  }

  function renderModal(modal) {
    const backdrop = $("modal-backdrop");
    if (!modal) { backdrop.hidden = true; modalErrors = {}; backdrop.dataset.shown = ""; return; }
    backdrop.hidden = false;
    backdrop.dataset.viewId = modal.id;
    backdrop.dataset.callbackId = modal.callback_id || "";
    $("modal-title").textContent = modal.title ? modal.title.text : "";
    const blocks = $("modal-blocks");
    const ctx = {
      surface: "modal",
      errors: modalErrors,
      onAction: (action) => post("/sandbox/action", { view_id: modal.id, action, values: BlockKit.collectValues(blocks) }),
      loadOptions: (query) => post("/sandbox/options", { view_id: modal.id, values: BlockKit.collectValues(blocks), ...query }),
    };
    // Like Slack, an updated view keeps what the person entered in inputs whose block and action ids remain.
    const kept = backdrop.dataset.shown === modal.id ? BlockKit.collectValues(blocks) : {};
    backdrop.dataset.shown = modal.id;
    blocks.replaceChildren(BlockKit.render(modal.blocks, ctx));
    BlockKit.restoreValues(blocks, kept);
    $("modal-close").textContent = modal.close ? modal.close.text : "Cancel";
    $("modal-submit").hidden = !modal.submit;
    $("modal-submit").textContent = modal.submit ? modal.submit.text : "";
    const first = blocks.querySelector(".invalid .bk-input, .invalid select, input, textarea, select");
    if (first) first.focus();
  }

  function showModalErrors(errors) {
    // Keep what the person typed: errors go next to the inputs without re-rendering the view.
    modalErrors = errors;
    for (const node of document.querySelectorAll("#modal-blocks .bk-input-block")) {
      node.classList.remove("invalid");
      node.querySelector(".bk-error")?.remove();
      const message = errors[node.dataset.block];
      if (message) {
        node.classList.add("invalid");
        node.append(el("div", { class: "bk-error", role: "alert" }, message));
      }
    }
    document.querySelector("#modal-blocks .invalid input, #modal-blocks .invalid textarea, #modal-blocks .invalid select")?.focus();
  }

  function renderOutbox(emails) {
    const target = $("outbox");
    $("outbox-count").textContent = emails.length ? String(emails.length) : "";
    if (view.place !== "outbox") return;
    target.replaceChildren(...(emails.length ? [...emails].reverse().map((email) => el("article", { class: "email" },
      el("h3", {}, email.subject),
      el("div", { class: "meta" }, `From ${email.from} to ${email.to.join(", ")} · `,
        new Date(email.received_at).toLocaleString(),
        email.attachments.length ? ` · 📎 ${email.attachments.join(", ")}` : ""),
      el("pre", {}, email.text)))
      : [el("div", { class: "empty" }, "No emails yet. Emails talentbot sends (welcome emails, interview invitations, "
        + "approved drafts) appear here.")]));
  }

  function renderNav(conversations) {
    const list = $("channel-list");
    list.replaceChildren(...conversations.filter((c) => c.kind === "channel").map((c) => el("li", {},
      el("a", { href: "#", "data-nav": c.id, class: [c.id === view.place ? "active" : "", c.unread ? "unread" : ""].join(" ") },
        `# ${c.name}`))));
    const dm = conversations.find((c) => c.kind === "dm");
    $("nav-dm").className = [view.place === "dm" ? "active" : "", dm && dm.unread ? "unread" : ""].join(" ");
    $("nav-home").className = view.place === "home" ? "active" : "";
    $("nav-outbox").className = view.place === "outbox" ? "active" : "";
  }

  // ---------------------------------------------------------------- polling

  function render() {
    const place = view.place;
    const isConversation = place !== "home" && place !== "outbox";
    $("messages").hidden = !isConversation;
    $("composer").hidden = !isConversation;
    $("home").hidden = place !== "home";
    $("outbox").hidden = place !== "outbox";
    if (!isConversation) $("thread").hidden = true;
    const channel = boot.channels.find((c) => c.id === place);
    $("conversation-title").textContent = channel ? `# ${channel.name}` : place === "dm" ? boot.bot.name
      : place === "home" ? `${boot.bot.name} — Home` : "Outbox";
    $("conversation-topic").textContent = place === "outbox" ? "Emails caught by the sandbox's SMTP server" : "";
    if (!state) return;
    const pick = (key, value) => { const s = JSON.stringify(value); if (s === last[key]) return false; last[key] = s; return true; };
    if (pick("conversations", [state.conversations, place])) renderNav(state.conversations);
    if (isConversation && pick("messages", state.messages)) renderMessages($("messages"), state.messages, false);
    if (view.thread && pick("thread", state.thread)) renderMessages($("thread-messages"), state.thread, true);
    if (place === "home" && pick("home", state.home)) renderHome(state.home);
    const modalKey = state.modal ? `${state.modal.id}:${state.modal.hash}` : "";
    if (modalKey !== last.modal) { last.modal = modalKey; renderModal(state.modal); }
    if (pick("outbox", [state.outbox, place])) renderOutbox(state.outbox);
  }

  let inflight = null;
  let asked = "";
  async function refresh() {
    const query = new URLSearchParams({ user: view.user, channel: channelFor(), thread: view.thread || "" }).toString();
    // A poll started before the person switched user or conversation answers for the old place: ask again.
    if (inflight && asked === query) return inflight;
    asked = query;
    const request = fetch(`/sandbox/state?${query}`).then((r) => r.json()).then((body) => {
      if (asked === query) { state = body; render(); }
    }).catch(() => {}).finally(() => { if (inflight === request) inflight = null; });
    inflight = request;
    return request;
  }
  let soon = null;
  function refreshSoon() { clearTimeout(soon); soon = setTimeout(refresh, 120); }
  setInterval(refresh, 700);

  // ---------------------------------------------------------------- what the person does

  document.addEventListener("click", (event) => {
    const link = event.target.closest("[data-nav]");
    if (!link) return;
    event.preventDefault();
    go(link.dataset.nav);
  });

  switcher.addEventListener("change", () => {
    view.user = switcher.value;
    state = null;
    last = { messages: "", thread: "", home: "", modal: null, outbox: "", conversations: "" };
    go(view.place);
  });

  async function send(text, threadTs) {
    text = text.trim();
    if (!text) return;
    const channel = channelFor();
    const command = text.match(/^\/(\w+)\s*([\s\S]*)$/);
    if (command && !threadTs) await post("/sandbox/command", { channel, command: command[1], text: command[2] });
    else await post("/sandbox/message", { channel, text, thread_ts: threadTs });
  }

  function composer(form, input, thread) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = input.value;
      input.value = "";
      send(text, thread ? view.thread : null);
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
    });
  }
  composer($("composer"), $("composer-input"), false);
  composer($("thread-composer"), $("thread-input"), true);
  $("thread-close").addEventListener("click", () => { view.thread = null; $("thread").hidden = true; });

  $("modal-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const backdrop = $("modal-backdrop");
    const submit = $("modal-submit");
    submit.disabled = true;
    try {
      const answer = await post("/sandbox/submit", { view_id: backdrop.dataset.viewId,
        values: BlockKit.collectValues($("modal-blocks")) });
      if (answer.errors) showModalErrors(answer.errors);
      else if (answer.error) showModalErrors({ _: answer.error });
      else modalErrors = {};
    } finally { submit.disabled = false; }
  });
  const closeModal = () => post("/sandbox/close", { view_id: $("modal-backdrop").dataset.viewId });
  $("modal-close").addEventListener("click", closeModal);
  $("modal-x").addEventListener("click", closeModal);

  go(view.place);
})();
