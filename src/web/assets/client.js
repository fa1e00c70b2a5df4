/*
 * Live updates for the Sower web view. Pages are complete without this
 * script: it listens to /events and, when a change concerns the open page,
 * fetches the page again and swaps in its live regions (elements with
 * `data-live` and an id). EventSource reconnects by itself after a dropped
 * connection; after a reconnect the page is refreshed once, because changes
 * may have been missed meanwhile.
 */
/* global document, window, EventSource, fetch, DOMParser, CustomEvent, setTimeout */
(function () {
  'use strict'

  // The server's `retry:` field sets the reconnect delay; this one applies
  // only when the browser gives up, e.g. after a 503 for too many clients.
  const RECONNECT_AFTER_CLOSE_MS = 5000
  const REFRESH_MIN_INTERVAL_MS = 300

  const dataElement = document.getElementById('page-data')
  if (dataElement == null || typeof EventSource === 'undefined') return
  let page
  try {
    page = JSON.parse(dataElement.textContent)
  } catch {
    return
  }

  const statusElement = document.getElementById('live-status')
  function showStatus (text) {
    if (statusElement == null) return
    statusElement.hidden = false
    statusElement.textContent = text
    statusElement.dataset.state = text === 'Live' ? 'live' : 'offline'
  }

  function includes (list, value) {
    return Array.isArray(list) && value != null && list.indexOf(value) !== -1
  }

  function concernsPage (change) {
    if (change.all === true || change.alerts === true) return true
    switch (page.view) {
      case 'gardens': return change.gardens.length > 0
      case 'garden': return includes(change.gardens, page.peer)
      case 'deployments': return change.deployments.length > 0
      case 'deployment': return includes(change.deployments, page.deployment)
      case 'intents': return change.intents.length > 0
      case 'intent': return includes(change.intents, page.intent)
      default: return false
    }
  }

  function swapLiveRegions (text) {
    const next = new DOMParser().parseFromString(text, 'text/html')
    for (const element of next.querySelectorAll('[data-live]')) {
      const parent = element.parentElement
      if (element.id === '' || (parent != null && parent.closest('[data-live]') != null)) continue
      const current = document.getElementById(element.id)
      if (current != null) current.replaceWith(document.adoptNode(element))
    }
    document.dispatchEvent(new CustomEvent('sower:updated'))
  }

  let refreshing = false
  let refreshAgain = false

  async function refresh () {
    if (refreshing) {
      refreshAgain = true
      return
    }
    refreshing = true
    try {
      const response = await fetch(window.location.href, { headers: { accept: 'text/html' }, cache: 'no-store' })
      if (response.ok) swapLiveRegions(await response.text())
    } catch {
      // The next change or reconnect refreshes again.
    } finally {
      refreshing = false
      if (refreshAgain) {
        refreshAgain = false
        setTimeout(refresh, REFRESH_MIN_INTERVAL_MS)
      }
    }
  }

  let lostConnection = false

  function connect () {
    const source = new EventSource('/events')
    source.addEventListener('open', function () {
      showStatus('Live')
      if (lostConnection) {
        lostConnection = false
        refresh()
      }
    })
    source.addEventListener('change', function (message) {
      let change
      try {
        change = JSON.parse(message.data)
      } catch {
        return
      }
      if (concernsPage(change)) refresh()
    })
    source.addEventListener('error', function () {
      lostConnection = true
      showStatus('Reconnecting…')
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(connect, RECONNECT_AFTER_CLOSE_MS)
      }
    })
  }

  // The column chooser closes on Escape and on a click outside it.
  document.addEventListener('keydown', function (event) {
    if (event.key !== 'Escape') return
    for (const details of document.querySelectorAll('details.col-chooser[open]')) details.open = false
  })
  document.addEventListener('click', function (event) {
    for (const details of document.querySelectorAll('details.col-chooser[open]')) {
      if (!details.contains(event.target)) details.open = false
    }
  })

  connect()
})()
