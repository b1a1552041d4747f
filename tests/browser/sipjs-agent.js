'use strict';
// The lab's WebRTC agent on SIP.js instead of JsSIP (same window.agent interface as agent.js):
// registers its DN over WSS, rings, answers and holds when its local bridge relays talkgate's
// bridge API calls, and in 'notify' mode when an in-dialog NOTIFY talk/hold reaches
// SessionDelegate.onNotify. Every SIP message in and out is traced from SIP.js's transport log,
// so the page can tell what SIP.js itself answers to talkgate's NOTIFYs.
(function () {
  const log = [];
  const notifies = [];
  const reinvites = [];
  const counts = { rings: 0, answers: 0, holds: 0, retrieves: 0, ended: 0, failed: 0 };
  let ua = null;
  let session = null;
  let mode = 'bridge';
  let status = 'loading';
  let lastStats = null;
  let held = false;
  let wasEstablished = false;

  function note(line) {
    log.push(new Date().toISOString().slice(11, 23) + ' ' + line);
    document.getElementById('log').textContent = log.slice(-60).join('\n');
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
    const first = message.split(/\r?\n/, 1)[0];
    if (!first) return;
    const cseq = header(message, 'CSeq');
    const event = header(message, 'Event');
    note(direction + ' ' + first + ' [' + cseq + ']' + (event ? ' Event: ' + event : ''));
    if (direction === 'in' && /^NOTIFY /.test(first)) notifies.push({ event, cseq, status: null });
    if (direction === 'out' && /^SIP\/2\.0 /.test(first) && / NOTIFY$/.test(cseq)) {
      const n = notifies.find((x) => x.cseq === cseq && x.status === null);
      if (n) n.status = Number(first.split(' ')[1]);
    }
    if (direction === 'out' && /^INVITE /.test(first)) {
      const dir = message.match(/a=(sendrecv|sendonly|recvonly|inactive)/);
      reinvites.push(dir ? dir[1] : 'none');
    }
  }

  // SIP.js logs each WebSocket message it sends or receives at level 'log'.
  function logConnector(level, category, label, content) {
    const sent = content.match(/^Sending WebSocket message:\n\n([\s\S]*)$/);
    const received = content.match(/^Received WebSocket text message:\n\n([\s\S]*)$/);
    if (sent) traceSip('out', sent[1]);
    else if (received) traceSip('in', received[1]);
    else if (level === 'error' || level === 'warn') note('sip.js ' + level + ': ' + content);
  }

  function answer(reason) {
    if (!session || session.state !== SIP.SessionState.Initial) {
      note('answer (' + reason + '): no ringing call');
      return false;
    }
    note('answer (' + reason + ')');
    setStatus('answering');
    counts.answers++;
    session.accept({ sessionDescriptionHandlerOptions: { constraints: { audio: true, video: false } } })
      .catch((e) => note('accept failed: ' + e.message));
    return true;
  }

  // SIP.js refuses a re-INVITE while the last one is not complete (a retrieve can follow a hold
  // within milliseconds): try again, a bounded number of times, as a desktop would.
  function setHold(hold, attempt = 0) {
    held = hold;
    session.invite({ sessionDescriptionHandlerModifiers: hold ? [SIP.Web.holdModifier] : [] })
      .then(() => setStatus(hold ? 'held' : 'talking'))
      .catch((e) => {
        note('re-INVITE failed: ' + e.message);
        if (attempt < 20 && session.state === SIP.SessionState.Established) {
          setTimeout(() => setHold(hold, attempt + 1), 100);
        }
      });
  }

  function genesysEvent(event, reason) {
    note('genesys event ' + event + ' (' + reason + ')');
    const established = session && session.state === SIP.SessionState.Established;
    if (event === 'talk') {
      if (session && session.state === SIP.SessionState.Initial) return answer(reason);
      if (established && held) {
        counts.retrieves++;
        setHold(false);
        return true;
      }
    } else if (event === 'hold' && established && !held) {
      counts.holds++;
      setHold(true);
      return true;
    }
    return false;
  }

  function attach(invitation) {
    session = invitation;
    held = false;
    wasEstablished = false;
    lastStats = null;
    counts.rings++;
    setStatus('ringing');
    invitation.delegate = {
      // Called by SIP.js for an in-dialog NOTIFY once the session is established.
      onNotify(notification) {
        const event = header(notification.request.toString(), 'Event');
        if (mode === 'notify' && (event === 'talk' || event === 'hold')) {
          notification.accept();
          genesysEvent(event, 'in-dialog NOTIFY');
        } else {
          notification.accept();
        }
      },
    };
    invitation.stateChange.addListener((state) => {
      if (state === SIP.SessionState.Established) {
        wasEstablished = true;
        const pc = invitation.sessionDescriptionHandler.peerConnection;
        const remote = new MediaStream();
        pc.getReceivers().forEach((r) => r.track && remote.addTrack(r.track));
        document.getElementById('remote').srcObject = remote;
        setStatus('talking');
      } else if (state === SIP.SessionState.Terminated) {
        if (wasEstablished) counts.ended++;
        else counts.failed++;
        setStatus((wasEstablished ? 'ended: ' : 'failed: ') + 'terminated');
      }
    });
  }

  async function stats() {
    const sdh = session && session.sessionDescriptionHandler;
    const pc = sdh && sdh.peerConnection;
    const out = { inbound_packets: 0, inbound_audio_energy: 0, inbound_audio_level: 0,
      outbound_packets: 0, codec: '', dtls: '', ice: '' };
    if (!pc || pc.connectionState === 'closed') return lastStats || out; // the call's last figures
    out.ice = pc.iceConnectionState;
    const report = await pc.getStats();
    report.forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'audio') {
        out.inbound_packets = r.packetsReceived || 0;
        out.inbound_audio_energy = r.totalAudioEnergy || 0;
        out.inbound_audio_level = r.audioLevel || 0;
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
      document.getElementById('library').textContent = 'SIP.js ' + SIP.version;
      document.getElementById('dn').textContent = config.dn + ' (' + mode + ')';
      ua = new SIP.UserAgent({
        uri: SIP.UserAgent.makeURI('sip:' + config.dn + '@' + config.domain),
        authorizationUsername: config.dn,
        authorizationPassword: config.password,
        transportOptions: { server: config.wss },
        userAgentString: 'talkgate-lab-browser',
        logBuiltinEnabled: false,
        logLevel: 'log',
        logConnector,
        delegate: { onInvite: attach },
      });
      const registerer = new SIP.Registerer(ua);
      registerer.stateChange.addListener((s) => {
        if (s === SIP.RegistererState.Registered) setStatus('registered');
        else if (s === SIP.RegistererState.Unregistered && status === 'registering') {
          setStatus('registration failed');
        }
      });
      setStatus('registering');
      ua.start().then(() => registerer.register()).catch((e) => setStatus('start failed: ' + e.message));
    },
    answer: () => answer('bridge API'),
    genesysEvent: (event) => genesysEvent(event, 'bridge API'),
    hangup() {
      if (!session || session.state !== SIP.SessionState.Established) return false;
      note('hangup');
      session.bye();
      return true;
    },
    async state() {
      return { status, held, counts, notifies, reinvites, stats: await stats() };
    },
    log: () => log.join('\n'),
  };
})();
