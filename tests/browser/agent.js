'use strict';
// The lab's WebRTC agent: registers its DN over WSS with JsSIP, rings on Asterisk's INVITE, and
// answers, holds and retrieves the way an agent desktop does: when its local bridge (driver.mjs)
// relays talkgate's bridge API calls, or in 'notify' mode when the in-dialog NOTIFY (Event: talk
// or hold) reaches the page. Every SIP message in and out is traced, so the page can tell what
// JsSIP itself answers to a NOTIFY talk.
(function () {
  const log = [];
  const notifies = []; // in-dialog NOTIFYs received: {event, cseq, status JsSIP or we answered}
  const reinvites = []; // re-INVITEs this agent sent: the SDP direction in each
  const counts = { rings: 0, answers: 0, holds: 0, retrieves: 0, ended: 0, failed: 0 };
  let ua = null;
  let session = null;
  let mode = 'bridge';
  let status = 'loading';
  let lastStats = null;
  let held = false;

  function note(line) {
    const entry = new Date().toISOString().slice(11, 23) + ' ' + line;
    log.push(entry);
    const div = document.getElementById('log');
    div.textContent = log.slice(-60).join('\n');
  }

  function setStatus(s) {
    status = s;
    document.getElementById('state').textContent = s;
    note('state: ' + s);
  }

  function header(message, name) {
    const m = message.match(new RegExp('^' + name + ':[ \\t]*(.*)$', 'mi'));
    return m ? m[1].trim() : '';
  }

  function traceSip(direction, message) {
    const first = message.split('\r\n', 1)[0];
    if (!first) return; // keep-alive CRLF
    const cseq = header(message, 'CSeq');
    const event = header(message, 'Event');
    note(direction + ' ' + first + ' [' + cseq + ']' + (event ? ' Event: ' + event : ''));
    if (direction === 'in' && /^NOTIFY /.test(first)) {
      notifies.push({ event, cseq, status: null });
    }
    if (direction === 'out' && /^SIP\/2\.0 /.test(first) && / NOTIFY$/.test(cseq)) {
      const n = notifies.find((x) => x.cseq === cseq && x.status === null);
      if (n) n.status = Number(first.split(' ')[1]);
    }
    // This agent only receives calls: every INVITE it sends is a re-INVITE.
    if (direction === 'out' && /^INVITE /.test(first)) {
      const dir = message.match(/a=(sendrecv|sendonly|recvonly|inactive)/);
      reinvites.push(dir ? dir[1] : 'none');
    }
  }

  // A WebSocket interface whose traffic is traced (JsSIP sets ondata when it connects).
  function tracedSocket(url) {
    const socket = new JsSIP.WebSocketInterface(url);
    const send = socket.send.bind(socket);
    socket.send = (message) => {
      traceSip('out', String(message));
      return send(message);
    };
    let ondata = null;
    Object.defineProperty(socket, 'ondata', {
      configurable: true,
      get: () => ondata,
      set: (f) => {
        ondata = f ? (data) => { traceSip('in', String(data)); f(data); } : f;
      },
    });
    return socket;
  }

  function answer(reason) {
    if (!session || !session.isInProgress() || session.direction !== 'incoming') {
      note('answer (' + reason + '): no ringing call');
      return false;
    }
    if (status === 'answering') return true;
    note('answer (' + reason + ')');
    setStatus('answering');
    counts.answers++;
    session.answer({
      mediaConstraints: { audio: true, video: false },
      pcConfig: { iceServers: [] },
    });
    return true;
  }

  // What Genesys's NOTIFY means for this agent: talk answers a ringing call or retrieves a held
  // one; hold holds an established call (the agent's own re-INVITE a=sendonly).
  function genesysEvent(event, reason) {
    note('genesys event ' + event + ' (' + reason + ')');
    if (event === 'talk') {
      if (session && session.isInProgress()) return answer(reason);
      if (session && session.isEstablished() && held) {
        counts.retrieves++;
        reoffer('unhold');
        return true;
      }
    } else if (event === 'hold' && session && session.isEstablished() && !held) {
      counts.holds++;
      reoffer('hold');
      return true;
    }
    return false;
  }

  // JsSIP's hold()/unhold() do nothing (return false) while the last re-INVITE is not complete,
  // and Genesys's retrieve can follow its hold within milliseconds: try again, a bounded number
  // of times, as a desktop would.
  function reoffer(action, attempt = 0) {
    if (!session || !session.isEstablished()) return;
    if (session[action]()) return;
    note(action + ': a re-INVITE is still in progress');
    if (attempt < 20) setTimeout(() => reoffer(action, attempt + 1), 100);
  }

  // 'notify' mode: JsSIP has no event for an in-dialog NOTIFY (it answers 403 in the early
  // dialog, 489 in the confirmed one), so the session's request handler is wrapped.
  function handleGenesysNotifies(s) {
    const receive = s.receiveRequest.bind(s);
    s.receiveRequest = (request) => {
      const event = request.method === 'NOTIFY' && request.event ? request.event.event : '';
      if (event === 'talk' || event === 'hold') {
        request.reply(200);
        genesysEvent(event, 'in-dialog NOTIFY');
        return;
      }
      receive(request);
    };
  }

  function attach(s) {
    session = s;
    held = false;
    lastStats = null;
    counts.rings++;
    setStatus('ringing');
    if (mode === 'notify') handleGenesysNotifies(s);
    s.on('peerconnection', (e) => {
      e.peerconnection.addEventListener('track', (t) => {
        document.getElementById('remote').srcObject = t.streams[0] || new MediaStream([t.track]);
      });
    });
    s.on('confirmed', () => setStatus('talking'));
    s.on('hold', (e) => {
      if (e.originator !== 'local') return;
      held = true;
      setStatus('held');
    });
    s.on('unhold', (e) => {
      if (e.originator !== 'local') return;
      held = false;
      setStatus('talking');
    });
    s.on('ended', (e) => {
      counts.ended++;
      setStatus('ended: ' + e.originator + ' ' + e.cause);
    });
    s.on('failed', (e) => {
      counts.failed++;
      setStatus('failed: ' + e.originator + ' ' + e.cause);
    });
  }

  async function stats() {
    const pc = session && session.connection;
    const out = { inbound_packets: 0, inbound_audio_energy: 0, inbound_audio_level: 0,
      outbound_packets: 0, codec: '', dtls: '', ice: '' };
    if (!pc || pc.connectionState === 'closed') return lastStats || out; // the call's last figures
    out.ice = pc.iceConnectionState;
    const report = await pc.getStats();
    const codecs = {};
    report.forEach((r) => { if (r.type === 'codec') codecs[r.id] = r.mimeType; });
    report.forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'audio') {
        out.inbound_packets = r.packetsReceived || 0;
        out.inbound_audio_energy = r.totalAudioEnergy || 0;
        out.inbound_audio_level = r.audioLevel || 0;
        out.codec = codecs[r.codecId] || '';
      } else if (r.type === 'outbound-rtp' && r.kind === 'audio') {
        out.outbound_packets = r.packetsSent || 0;
      } else if (r.type === 'transport') {
        out.dtls = r.dtlsState || '';
      }
    });
    document.getElementById('stats').textContent = JSON.stringify(out);
    lastStats = out;
    return out;
  }

  window.agent = {
    start(config) {
      mode = config.mode;
      document.getElementById('library').textContent = 'JsSIP ' + JsSIP.version;
      document.getElementById('dn').textContent = config.dn + ' (' + mode + ')';
      ua = new JsSIP.UA({
        sockets: [tracedSocket(config.wss)],
        uri: 'sip:' + config.dn + '@' + config.domain,
        password: config.password,
        register: true,
        user_agent: 'talkgate-lab-browser',
      });
      ua.on('registered', () => setStatus('registered'));
      ua.on('registrationFailed', (e) => setStatus('registration failed: ' + e.cause));
      ua.on('disconnected', () => note('WebSocket disconnected'));
      ua.on('newRTCSession', (e) => {
        if (e.originator === 'remote') attach(e.session);
      });
      setStatus('registering');
      ua.start();
    },
    answer: () => answer('bridge API'),
    genesysEvent: (event) => genesysEvent(event, 'bridge API'),
    hangup() {
      if (!session || session.isEnded()) return false;
      note('hangup');
      session.terminate();
      return true;
    },
    async state() {
      return { status, held, counts, notifies, reinvites, stats: await stats() };
    },
    log: () => log.join('\n'),
  };
})();
