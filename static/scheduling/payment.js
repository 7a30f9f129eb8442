/* A paid meeting's payment page (staff): the charge's state follows live. Stripe answers after
 * the press (the charge is sent by a task), and the client may confirm later: each change is a
 * `meetings` push on the clinic's meetings socket, on which the page re-fetches its part (one
 * rendering path, the server's). A typed amount and the focus survive the re-fetch. */
import {getText} from "../waitingroom/lib/http.js";
import {connect} from "../waitingroom/lib/socket.js";
import {refetcher, swapInner} from "../waitingroom/lib/swap.js";

const body = document.body, live = document.querySelector("[data-payment-live]");

if (live) {
  const part = refetcher(() => getText(body.dataset.partUrl), (html) => swapInner(live, html));
  // Anything that changed between the page render and the socket opening is fetched too, unless
  // the page shows why a charge was refused (the re-fetched part would drop the message).
  const socket = connect(body.dataset.socketUrl, {onOpen: () => { if (!live.querySelector("[role=alert]")) part.refresh(); }});
  socket.on("meetings", () => part.refresh());
}
