/** Manifests the kubectl tests apply: a namespace, a ConfigMap, a Deployment, a StorageClass, a CRD and a CR. */
export const crdManifest = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.demo.stowage.io
spec:
  group: demo.stowage.io
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
    shortNames: [wi]
  versions:
    - name: v1alpha1
      served: true
      storage: true
      subresources:
        status: {}
      additionalPrinterColumns:
        - name: Size
          type: string
          jsonPath: .spec.size
        - name: Color
          type: string
          jsonPath: .spec.color
          priority: 1
        - name: Age
          type: date
          jsonPath: .metadata.creationTimestamp
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              description: What the widget should be.
              required: [size]
              properties:
                size:
                  type: string
                  description: How big the widget is.
                  pattern: '^[0-9]+(Mi|Gi)$'
                color:
                  type: string
                  enum: [red, green, blue]
                  default: blue
            status:
              type: object
              properties:
                phase:
                  type: string
`;

export function appManifest(replicas: number, value: string): string {
  return `apiVersion: v1
kind: Namespace
metadata:
  name: kubectl-demo
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: kubectl-demo
data:
  mode: ${value}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: idle
  namespace: kubectl-demo
spec:
  replicas: ${replicas}
  selector:
    matchLabels:
      app: idle
  template:
    metadata:
      labels:
        app: idle
    spec:
      containers:
        - name: main
          image: registry.example/idle:1.0
          env:
            - name: MODE
              value: ${value}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: stowage-test
provisioner: csi.stowage.io
parameters:
  replicas: "2"
---
apiVersion: demo.stowage.io/v1alpha1
kind: Widget
metadata:
  name: first-widget
  namespace: kubectl-demo
spec:
  size: 10Gi
`;
}
