export { createWebhookSender } from "./webhook-sender.js";
