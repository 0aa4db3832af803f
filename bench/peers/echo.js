// An echo server as a Node.js user writes one: net.createServer, setKeepAlive on
// each socket. Usage: node echo.js PORT IDLE_MS
const net = require("net");
const [port, idleMs] = [Number(process.argv[2]), Number(process.argv[3])];
net
  .createServer((socket) => {
    socket.setKeepAlive(true, idleMs);
    socket.on("data", (chunk) => socket.write(chunk));
    socket.on("error", () => {});
  })
  .listen(port, "127.0.0.1", () => console.log("listening"));
