/**
 * The application's environment, shaped like the History Server's `ApplicationEnvironmentInfo`
 * (`/api/v1/applications/{appId}/environment`). Values Spark redacted stay redacted (`*********(redacted)`).
 * @module
 */

/**
 * JVM and Scala versions of the driver. A field the log does not give is absent, as the History Server
 * leaves it out (a log without `JVM Information` gets `{}`).
 */
export interface RuntimeInfo {
  javaVersion?: string;
  javaHome?: string;
  scalaVersion?: string;
}

/** An executor resource request of a resource profile. */
export interface ExecutorResourceRequest {
  resourceName: string;
  amount: number;
  discoveryScript: string;
  vendor: string;
}

/** A task resource request of a resource profile. */
export interface TaskResourceRequest {
  resourceName: string;
  amount: number;
}

/** A resource profile (stage-level scheduling, Spark 3.1+). */
export interface ResourceProfileInfo {
  id: number;
  executorResources: Record<string, ExecutorResourceRequest>;
  taskResources: Record<string, TaskResourceRequest>;
}

/** A `[key, value]` pair, as the History Server lists properties. */
export type PropertyPair = [string, string];

/** The application's environment. */
export interface ApplicationEnvironmentInfo {
  runtime: RuntimeInfo;
  sparkProperties: PropertyPair[];
  hadoopProperties: PropertyPair[];
  systemProperties: PropertyPair[];
  metricsProperties: PropertyPair[];
  classpathEntries: PropertyPair[];
  resourceProfiles: ResourceProfileInfo[];
}
