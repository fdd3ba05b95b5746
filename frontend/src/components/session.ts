import { create } from "zustand";
import { api } from "../api/client";
import type { Me } from "../api/types";
import { toast } from "./toast";

interface SessionState {
  me: Me | null;
  load(): Promise<void>;
  /** True when the server switched the session's tenant. */
  switchTenant(slug: string): Promise<boolean>;
}

/** Who is signed in and in which tenant; shared by the header and the pages. */
export const useSession = create<SessionState>()((set) => ({
  me: null,
  async load() {
    try {
      set({ me: await api.me() });
    } catch (error) {
      toast.fromError(error, "Could not load your account");
    }
  },
  async switchTenant(slug) {
    try {
      set({ me: await api.switchTenant(slug) });
      toast.success(`Switched to ${slug}`);
      return true;
    } catch (error) {
      toast.fromError(error);
      return false;
    }
  },
}));
