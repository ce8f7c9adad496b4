import { UserManager } from "oidc-client-ts";
export const manager = UserManager;
